"""Local stack: dev server, DynamoDB Local launcher, provider simulators."""
