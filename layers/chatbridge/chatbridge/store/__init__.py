"""Persistence behind interfaces; `get_store()` hands out the DynamoDB implementation."""

from chatbridge.store.base import ApiKeyStore, CredentialStore, RegistrationStore, Store, get_store

__all__ = ["ApiKeyStore", "CredentialStore", "RegistrationStore", "Store", "get_store"]
