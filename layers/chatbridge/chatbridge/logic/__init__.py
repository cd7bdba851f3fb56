"""Business logic: free of HTTP and AWS details, talking to stores and provider clients."""
