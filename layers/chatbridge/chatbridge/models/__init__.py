"""Public API models (requests and responses), kept apart from provider payloads and table items."""
