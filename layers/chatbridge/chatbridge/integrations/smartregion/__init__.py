"""SmartRegion (Wi-Fi presence): bot-user registration and presence webhooks."""
