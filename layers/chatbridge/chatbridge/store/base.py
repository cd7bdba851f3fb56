"""Store interfaces the logic depends on, and the one cached factory that builds the real ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from chatbridge.models.base import Model
from chatbridge.store.items import (
    ApiKeyItem,
    AttemptItem,
    DeliveryItem,
    EventItem,
    MessageItem,
    PresenceItem,
    ProcessedEvent,
    RecipientItem,
    RegistrationItem,
    SealedCredentialsItem,
    SealedSecretItem,
    WebhookItem,
    WebhookMessageItem,
)
from chatbridge.store.lists import EventFilters, MessageFilters, RegistrationFilters


class RegistrationStore(Protocol):
    def save_registration(self, item: RegistrationItem) -> RegistrationItem:
        """Create or update; `created_at` of an existing registration is kept."""
        ...

    def get_registration(self, registration_id: str) -> RegistrationItem | None: ...

    def find_registrations(
        self, provider: str, user_id: str, limit: int, next_token: str | None
    ) -> tuple[list[RegistrationItem], str | None]: ...

    def list_registrations(
        self, filters: RegistrationFilters, limit: int, next_token: str | None
    ) -> tuple[list[RegistrationItem], str | None]:
        """One page of the registrations of `filters.providers`, newest first (gsi2 / gsi3)."""
        ...

    def create_registration_if_absent(self, item: RegistrationItem) -> tuple[RegistrationItem, bool]:
        """Store `item` unless a registration has its id; (what is stored, whether it was `item`).

        For a registration whose outcome is unknown: what is already known of it is kept."""
        ...

    def find_registration_by_provider_ref(self, provider: str, provider_ref: str) -> RegistrationItem | None:
        """The registration the provider knows as `provider_ref` (what its callbacks name)."""
        ...

    def apply_presence(self, registration_id: str, presence: PresenceItem) -> bool:
        """Record a presence newer than the stored one; False if older, the same, or no such registration."""
        ...

    def apply_verification_status(self, registration_id: str, status: str, version: str) -> bool:
        """Set the status a provider reported if `version` is newer than the last applied; False otherwise."""
        ...


class CredentialStore(Protocol):
    def save_credentials(self, item: SealedCredentialsItem) -> None: ...

    def get_credentials(self, registration_id: str) -> SealedCredentialsItem | None: ...


class ApiKeyStore(Protocol):
    def put_api_key(self, item: ApiKeyItem) -> None: ...

    def get_api_key(self, key_hash: str) -> ApiKeyItem | None:
        """A consistent read: what the authorizer checks on every call it is not cached for."""
        ...

    def api_keys_page(self, limit: int, start: dict[str, Any] | None) -> tuple[list[ApiKeyItem], dict[str, Any] | None]:
        """One page of every key (raw LastEvaluatedKey: callers that hand it out seal it)."""
        ...

    def find_api_key(self, key_id: str) -> ApiKeyItem | None: ...

    def revoke_api_key(self, key_hash: str, revoked_at: str) -> ApiKeyItem | None: ...


class Store(RegistrationStore, CredentialStore, ApiKeyStore, Protocol):
    pass


class MessageRecord(Model):
    """A message with one page of its recipients' statuses."""

    message: MessageItem
    recipients: list[RecipientItem]
    next_token: str | None = None


class MessageStatusStore(Protocol):
    """What the events processor needs of the message store."""

    def get_message(
        self, message_id: str, *, recipients_limit: int = 100, next_token: str | None = None
    ) -> MessageRecord | None: ...

    def find_message_by_provider_ref(self, provider: str, provider_ref: str) -> MessageItem | None: ...

    def apply_status(  # noqa: PLR0917 - positional by the cross-team contract (the events processor calls it so)
        self,
        provider: str,
        provider_ref: str,
        status: str,
        occurred_at: datetime,
        event_id: str,
        recipient: str | None,
    ) -> bool:
        """Record a status (ours, already mapped from the provider's word) reported by the provider;
        whether anything changed (False: unknown ref or a repeat)."""
        ...

    def unknown_messages(self, provider: str, match_key: str, since: datetime) -> list[MessageItem]:
        """Messages still `unknown` stored with `match_key` (see `create_message`) from `since` on."""
        ...

    def resolve_unknown(
        self, message: MessageItem, *, status: str, provider_ref: str | None, note: str
    ) -> MessageItem | None:
        """Resolve a message stored `unknown`: its status and reference; None if no longer unknown."""
        ...


class MessageStore(MessageStatusStore, Protocol):
    def list_messages(
        self, filters: MessageFilters, limit: int, next_token: str | None
    ) -> tuple[list[MessageItem], str | None]:
        """One page of the messages of `filters.providers`, newest first (gsi2 / gsi3)."""
        ...

    def create_message(self, item: MessageItem, match_keys: Sequence[str] = ()) -> MessageItem:
        """Store a new message (and its provider_ref pointer); MessageIdTakenError if the id is taken.

        `match_keys`, with an `unknown` message: what `unknown_messages` finds it by."""
        ...


class EventStore(Protocol):
    def add_event(self, item: EventItem) -> bool:
        """Store a delivery once; False when an equal delivery is already stored."""
        ...

    def get_event(self, provider: str, dedupe_key: str) -> EventItem | None: ...

    def mark_processed(self, item: EventItem, result: ProcessedEvent) -> None: ...

    def events_of_subject(
        self, provider: str, subject_ref: str, limit: int, next_token: str | None
    ) -> tuple[list[EventItem], str | None]: ...

    def list_events(
        self, filters: EventFilters, limit: int, next_token: str | None
    ) -> tuple[list[EventItem], str | None]:
        """One page of the processed events of `filters.providers`, newest received first (gsi2 / gsi3)."""
        ...


class RateScheduleStore(Protocol):
    def reserve(
        self, provider: str, fingerprint: str, *, now_ms: int, interval_ms: int, tolerance_ms: int, latest_ms: int
    ) -> int | None:
        """The instant (ms) the caller may send at, or None if no slot is free before `latest_ms`."""
        ...


class WebhookStore(Protocol):
    """Subscriptions of the operator's bots, the events sent to them, deliveries and attempts."""

    def create_webhook(self, item: WebhookItem) -> bool: ...

    def get_webhook(self, webhook_id: str) -> WebhookItem | None: ...

    def list_webhooks(self, limit: int, next_token: str | None) -> tuple[list[WebhookItem], str | None]: ...

    def all_webhooks(self) -> list[WebhookItem]: ...

    def update_webhook(
        self, webhook_id: str, changes: dict[str, Any], removes: tuple[str, ...] = ()
    ) -> WebhookItem | None: ...

    def replace_secrets(
        self, webhook_id: str, secrets: list[SealedSecretItem], expected_updated_at: datetime, now: datetime
    ) -> bool: ...

    def mark_failing(self, webhook_id: str, since: datetime) -> None: ...

    def clear_failing(self, webhook_id: str) -> None: ...

    def disable_webhook(self, webhook_id: str, reason: str, at: datetime) -> bool: ...

    def delete_webhook(self, webhook_id: str) -> bool: ...

    def put_message(self, item: WebhookMessageItem) -> bool: ...

    def get_message(self, event_id: str) -> WebhookMessageItem | None: ...

    def get_delivery(self, delivery_id: str) -> DeliveryItem | None: ...

    def put_delivery(self, item: DeliveryItem, *, expected_task: str | None) -> bool: ...

    def put_delivery_with_attempt(
        self, item: DeliveryItem, attempt: AttemptItem, *, expected_task: str, expected_attempts: int
    ) -> bool: ...

    def failed_deliveries(
        self, webhook_id: str, since: datetime, limit: int, next_token: str | None
    ) -> tuple[list[DeliveryItem], str | None]: ...

    def attempts_of(
        self, webhook_id: str, limit: int, next_token: str | None
    ) -> tuple[list[AttemptItem], str | None]: ...


# One factory style for every store: built from the (cached) client and settings, and cached by
# them, so whoever resets the AWS clients or the settings gets new stores too.
@lru_cache(maxsize=32)
def _built(kind: type[Any], client: Any, table_name: str) -> Any:
    return kind(client, table_name)


def reset_stores() -> None:
    """Forget the stores built so far, and the clients they hold (a SnapStart restore, tests)."""
    _built.cache_clear()


def _store(kind: type[Any]) -> Any:
    from chatbridge.aws import dynamodb_client
    from chatbridge.settings import get_settings

    return _built(kind, dynamodb_client(), get_settings().table_name)  # type: ignore[arg-type]


def get_store() -> Store:
    from chatbridge.store.dynamodb import DynamoStore

    store: Store = _store(DynamoStore)
    return store


def get_message_store() -> MessageStore:
    from chatbridge.store.messages import DynamoMessageStore

    store: MessageStore = _store(DynamoMessageStore)
    return store


def get_event_store() -> EventStore:
    from chatbridge.store.events import DynamoEventStore

    store: EventStore = _store(DynamoEventStore)
    return store


def get_rate_schedule() -> RateScheduleStore:
    from chatbridge.store.rates import DynamoRateSchedule

    store: RateScheduleStore = _store(DynamoRateSchedule)
    return store


def get_webhook_store() -> WebhookStore:
    from chatbridge.store.webhooks import DynamoWebhookStore

    store: WebhookStore = _store(DynamoWebhookStore)
    return store
