"""Persistence behind interfaces; the `get_*store()` factories hand out the DynamoDB implementations."""

from chatbridge.store.base import (
    ApiKeyStore,
    CredentialStore,
    EventStore,
    MessageStatusStore,
    MessageStore,
    RegistrationStore,
    Store,
    get_event_store,
    get_message_store,
    get_store,
)

__all__ = [
    "ApiKeyStore",
    "CredentialStore",
    "EventStore",
    "MessageStatusStore",
    "MessageStore",
    "RegistrationStore",
    "Store",
    "get_event_store",
    "get_message_store",
    "get_store",
]
