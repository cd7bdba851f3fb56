"""Persistence behind interfaces; `get_store()` hands out the DynamoDB implementation."""

from chatbridge.store.base import ApiKeyStore, RegistrationStore, Store, get_store

__all__ = ["ApiKeyStore", "RegistrationStore", "Store", "get_store"]
