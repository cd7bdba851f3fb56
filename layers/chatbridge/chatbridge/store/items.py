"""DynamoDB item models: the single-table key layout lives here and only here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, PlainSerializer, model_validator

from chatbridge.models.base import Model

# -- operator lists (gsi2, gsi3) -------------------------------------------------------------------
# Registrations, messages and events are listed per provider, newest first, by two sparse indexes
# keyed alike: gsi2 `<LIST>#<provider>` / `<time>#<id>` (everything of a provider) and gsi3
# `<LIST>#<provider>#<state>` / `<time>#<id>` (those in one state: a registration's or message's
# status, an event's outcome). A state change rewrites `gsi3pk`, which moves the item between the
# state lists; `<time>` never changes. Items written before these indexes have no such attributes
# and are in no list until they are written again (README, "Listing").
LIST_INDEX = "gsi2"
STATE_LIST_INDEX = "gsi3"
REGISTRATION_LIST = "REGLIST"
MESSAGE_LIST = "MSGLIST"
EVENT_LIST = "EVLIST"


def list_partition(entity: str, provider: str, state: str | None = None) -> str:
    return f"{entity}#{provider}" if state is None else f"{entity}#{provider}#{state}"


def list_keys(entity: str, provider: str, state: str, at: datetime, item_id: str) -> dict[str, str]:
    """The gsi2 and gsi3 attributes of an item listed under `provider` (and `state`) at `at`."""
    position = f"{sortable_time(at)}#{item_id}"
    return {
        "gsi2pk": list_partition(entity, provider),
        "gsi2sk": position,
        "gsi3pk": list_partition(entity, provider, state),
        "gsi3sk": position,
    }


class PresenceItem(Model):
    """Where SmartRegion last reported a registered user (detected, connected, disconnected)."""

    state: str
    last_seen_at: datetime
    event_id: str
    version: str = Field(description="`<sortable time>#<event id>`: a newer event has a greater version")


class RegistrationItem(Model):
    id: str
    provider: str
    connection: str
    status: str
    user_id: str
    provider_ref: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
    # Kept by the events processor with conditional updates; excluded from dumps so that
    # save_registration (a re-registration) neither overwrites nor removes it.
    presence: PresenceItem | None = Field(default=None, exclude=True)

    @staticmethod
    def key(registration_id: str) -> dict[str, str]:
        return {"pk": f"REG#{registration_id}", "sk": "REG"}

    @staticmethod
    def user_index_key(provider: str, user_id: str) -> str:
        return f"REGUSER#{provider}#{user_id}"

    def keys(self) -> dict[str, str]:
        return {
            **self.key(self.id),
            "gsi1pk": self.user_index_key(self.provider, self.user_id),
            "gsi1sk": f"REG#{self.id}",
            **list_keys(REGISTRATION_LIST, self.provider, self.status, self.created_at, self.id),
        }


class RegistrationRefItem(Model):
    """Pointer from a provider's own id to our registration: callbacks name only the provider's id."""

    provider: str
    provider_ref: str
    registration_id: str

    @staticmethod
    def key(provider: str, provider_ref: str) -> dict[str, str]:
        return {"pk": f"REGREF#{provider}#{provider_ref}", "sk": "REGREF"}


class SealedCredentialsItem(Model):
    """Credentials a provider issued for a registration (Imbee's user pass and apikey), KMS-encrypted.

    An item of its own, not a field of the registration: no read of a registration can return them.
    """

    registration_id: str
    provider: str
    ciphertext: str = Field(description="base64 of the KMS ciphertext blob")
    key_id: str = Field(description="ARN of the KMS key that encrypted it")
    updated_at: datetime

    @staticmethod
    def key(registration_id: str) -> dict[str, str]:
        return {"pk": f"REGCRED#{registration_id}", "sk": "REGCRED"}


API_KEYS_INDEX_KEY = "APIKEYS"


class ApiKeyItem(Model):
    """An API key, stored under the SHA-256 of the key (the key itself is never stored).

    `APIKEY#<hash>|APIKEY` is what the authorizer reads (one GetItem); gsi1 `APIKEYS` /
    `APIKEY#<key_id>` lists the keys and finds one by id for the admin routes and commands.
    A key stored before scopes existed has `scopes` None and is refused: issue a new one.
    """

    key_hash: str
    key_id: str
    name: str
    created_at: datetime
    active: bool = True
    scopes: list[str] | None = None
    providers: list[str] = Field(default_factory=list, description="`provider` or `provider/connection`; empty: all")
    # not `expires_at`: that name is the table's TTL attribute, which would delete the item
    valid_until: datetime | None = None
    revoked_at: datetime | None = None
    created_by: str | None = None

    @staticmethod
    def key(key_hash: str) -> dict[str, str]:
        return {"pk": f"APIKEY#{key_hash}", "sk": "APIKEY"}

    @staticmethod
    def index_key(key_id: str) -> dict[str, str]:
        return {"gsi1pk": API_KEYS_INDEX_KEY, "gsi1sk": f"APIKEY#{key_id}"}

    def keys(self) -> dict[str, str]:
        return {**self.key(self.key_hash), **self.index_key(self.key_id)}


class RateScheduleItem(Model):
    """When the next call with one provider credential may go (GCRA's theoretical arrival time),
    shared by every execution environment. Keyed by a digest: the credential is never stored."""

    provider: str
    fingerprint: str
    next_at_ms: int
    expires_at: int

    @staticmethod
    def key(provider: str, fingerprint: str) -> dict[str, str]:
        return {"pk": f"RATE#{provider}#{fingerprint}", "sk": "RATE"}


# -- messages (B: Messaging) ---------------------------------------------------------------------
# A message, broadcast, chat, chat token, template or agent is one item `MSG#<id>|MSG` holding its
# status and status history; per-recipient statuses of a multi-recipient send are items
# `MSG#<id>|RCPT#<recipient>` beside it (one Query on the pk reads them, no Scan); the pointer
# `MSGREF#<provider>#<provider_ref>|MSGREF` leads a provider callback to the message.
RECIPIENT_SK_PREFIX = "RCPT#"
RECIPIENT_COUNT_PREFIX = "rcount_"


def sortable_time(value: datetime) -> str:
    """Fixed-width UTC ISO 8601: conditions compare instants by comparing these strings."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


SortableTime = Annotated[datetime, PlainSerializer(sortable_time, return_type=str)]


class StatusChange(Model):
    status: str
    at: SortableTime
    event_id: str | None = None
    recipient: str | None = None


class MessageItem(Model):
    id: str
    provider: str
    connection: str
    kind: str  # submit, conversation, broadcast, chat, chat_token, template, agent, access_token
    status: str
    # The provider's time of the report that set `status`. None while `status` is our own first
    # one: our clock is never compared with a provider's, so the first report always replaces it.
    status_at: SortableTime | None = None
    provider_ref: str | None = None
    recipients: int = 0
    recipient: str | None = None
    # True where callbacks about one recipient go to that recipient's item instead of the message
    per_recipient: bool = False
    details: dict[str, Any] = Field(default_factory=dict)
    status_history: list[StatusChange] = Field(default_factory=list)
    # Recipients of a per-recipient send by their last reported status (only those a callback
    # reported on), kept by ADD counters in the transaction that moves a recipient: see
    # store/messages.py. Stored as top-level `rcount_<status>` numbers (an ADD needs no map to exist).
    recipient_counts: dict[str, int] = Field(default_factory=dict, exclude=True)
    recipient_reports: int = Field(default=0, exclude=True, description="How many recipient moves were counted")
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _gather_counts(cls, values: Any) -> Any:
        if isinstance(values, dict) and "recipient_counts" not in values:
            counts = {
                name[len(RECIPIENT_COUNT_PREFIX) :]: int(count)
                for name, count in values.items()
                if name.startswith(RECIPIENT_COUNT_PREFIX)
            }
            values = {**values, "recipient_counts": {k: v for k, v in counts.items() if v > 0}}
        return values

    @staticmethod
    def key(message_id: str) -> dict[str, str]:
        return {"pk": f"MSG#{message_id}", "sk": "MSG"}

    def keys(self, list_status: str | None = None) -> dict[str, str]:
        status = list_status or self.status
        return {**self.key(self.id), **list_keys(MESSAGE_LIST, self.provider, status, self.created_at, self.id)}


class RecipientItem(Model):
    message_id: str
    recipient: str
    status: str
    status_at: SortableTime
    status_history: list[StatusChange] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def key(message_id: str, recipient: str) -> dict[str, str]:
        return {"pk": f"MSG#{message_id}", "sk": f"{RECIPIENT_SK_PREFIX}{recipient}"}


class MessageRefItem(Model):
    provider: str
    provider_ref: str
    message_id: str
    per_recipient: bool = False

    @staticmethod
    def key(provider: str, provider_ref: str) -> dict[str, str]:
        return {"pk": f"MSGREF#{provider}#{provider_ref}", "sk": "MSGREF"}


# A message stored `unknown` (its provider call got no answer) has no provider reference yet. What
# a later callback or answer may name instead (a recipient, a pair of users: the integration's
# `match_keys`) points to it from `UNKNOWN#<provider>#<match key>|<created_at>#<message id>`,
# written with the message and kept a day (TTL); a Query from a time on finds the candidates.
UNKNOWN_MATCH_TTL = timedelta(days=1)


class UnknownMatchItem(Model):
    provider: str
    match_key: str
    message_id: str
    created_at: SortableTime
    expires_at: int

    @staticmethod
    def partition(provider: str, match_key: str) -> str:
        return f"UNKNOWN#{provider}#{match_key}"

    @staticmethod
    def sort_key(created_at: datetime, message_id: str = "") -> str:
        return f"{sortable_time(created_at)}#{message_id}"

    def key(self) -> dict[str, str]:
        return {
            "pk": self.partition(self.provider, self.match_key),
            "sk": self.sort_key(self.created_at, self.message_id),
        }


# -- provider events (webhook deliveries) -------------------------------------------------------
# One item `EVENT#<provider>#<dedupe key>|EVENT` per delivery, with `entity: event` (the stream
# filter's mark) and, where the subject is known, `EVSUBJECT#<provider>#<ref>` / version in gsi1.
EVENT_ENTITY = "event"
EVENT_RETENTION_DAYS = 30
SUBJECT_INDEX = "gsi1"

EventStatus = Literal["received", "processed"]
# applied: changed a registration or message; unchanged: matched, but older than (or the same as)
# what is stored; unmatched: no registration or message has this reference; unrecognised: a type
# or shape we do not know, kept and flagged, never applied.
EventOutcome = Literal["applied", "unchanged", "unmatched", "unrecognised"]
SubjectKind = Literal["registration", "message"]


class EventItem(Model):
    """What ingestion stores (identity, the raw body, the subject and time for the index), then what
    the processor records. Type, state and facts are read from `raw` where needed
    (chatbridge.integrations.webhook_fields.describe): the put the provider waits on stays small."""

    id: str
    provider: str
    dedupe_key: str = Field(description="`event_id:<provider's id>` or `sha256:<hex of the body>`")
    recognised: bool
    subject_ref: str | None = Field(default=None, description="The provider's reference of the subject.")
    occurred_at: datetime | None = None
    received_at: datetime
    raw: str = Field(description="The body exactly as received.")
    expires_at: int
    # set by the events processor
    status: EventStatus = "received"
    outcome: EventOutcome | None = None
    detail_type: str | None = Field(default=None, description="The EventBridge detail-type it was published as.")
    registration_ids: list[str] = Field(default_factory=list)
    message_id: str | None = None
    processed_at: datetime | None = None
    event_type: str | None = Field(default=None, description="The provider's event type, stored when processed.")

    @staticmethod
    def key(provider: str, dedupe_key: str) -> dict[str, str]:
        return {"pk": f"EVENT#{provider}#{dedupe_key}", "sk": "EVENT"}

    def list_keys(self, outcome: str) -> dict[str, str]:
        """Written when processed (not on the callback's put, which the provider waits on)."""
        return list_keys(EVENT_LIST, self.provider, outcome, self.received_at, self.id)

    @staticmethod
    def subject_index_key(provider: str, subject_ref: str) -> str:
        return f"EVSUBJECT#{provider}#{subject_ref}"

    @property
    def effective_at(self) -> datetime:
        """When the event happened: the provider's time where given, else when we received it."""
        return self.occurred_at or self.received_at

    @property
    def version(self) -> str:
        """Orders events of one subject: time first, the id breaks ties between equal times."""
        return f"{sortable_time(self.effective_at)}#{self.id}"

    def keys(self) -> dict[str, str]:
        keys = {**self.key(self.provider, self.dedupe_key), "entity": EVENT_ENTITY}
        if self.subject_ref:
            keys["gsi1pk"] = self.subject_index_key(self.provider, self.subject_ref)
            keys["gsi1sk"] = self.version
        return keys


def expiry_for(received_at: datetime) -> int:
    return int((received_at + timedelta(days=EVENT_RETENTION_DAYS)).timestamp())


class ProcessedEvent(Model):
    """What the processor records on an event once it is applied and published."""

    outcome: EventOutcome
    detail_type: str | None = None
    event_type: str | None = None
    registration_ids: list[str] = Field(default_factory=list)
    message_id: str | None = None
    processed_at: datetime


# -- webhooks to the operator's bots ---------------------------------------------------------------
# `WHEP#<id>|WHEP` a subscription, listed through gsi1 `WHEPS` / `<created>#<id>` (one partition:
# an operator has tens of subscriptions, not thousands); `WHMSG#<event id>|WHMSG` an event exactly as
# it is sent (what replay sends again); `WHDLV#<delivery id>|WHDLV` one event to one subscription, its
# id being the `webhook-id` header, in gsi1 `WHFAILED#<subscription>` / `<created>#<id>` only while it
# has failed (a sparse index: recovery reads it); `WHDLV#<delivery id>|ATT#<n>` its attempts, in gsi1
# `WHATT#<subscription>` / `<time>#<delivery id>#<n>` (the attempt log of a subscription, by time).
WEBHOOK_RETENTION_DAYS = 30
WEBHOOK_LIST_KEY = "WHEPS"

DeliveryStatus = Literal["pending", "retrying", "succeeded", "failed"]
AttemptOutcome = Literal["succeeded", "failed"]
RunTrigger = Literal["event", "replay", "recovery"]


def webhook_expiry(at: datetime) -> int:
    return int((at + timedelta(days=WEBHOOK_RETENTION_DAYS)).timestamp())


class SealedSecretItem(Model):
    """A signing secret, KMS-encrypted; `retires_at` is set when a rotation replaced it."""

    ciphertext: str = Field(description="base64 of the KMS ciphertext blob")
    key_id: str
    created_at: datetime
    retires_at: datetime | None = None


class WebhookItem(Model):
    id: str
    url: str
    event_types: list[str]
    description: str = ""
    enabled: bool = True
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    # first failed attempt since the last success: five days of failures in a row disable it
    failing_since: datetime | None = None
    secrets: list[SealedSecretItem]
    # SHA-256 of the creating request, for an Idempotency-Key repeated with another body
    request_hash: str | None = None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def key(webhook_id: str) -> dict[str, str]:
        return {"pk": f"WHEP#{webhook_id}", "sk": "WHEP"}

    def keys(self) -> dict[str, str]:
        return {
            **self.key(self.id),
            "gsi1pk": WEBHOOK_LIST_KEY,
            "gsi1sk": f"{sortable_time(self.created_at)}#{self.id}",
        }


class WebhookMessageItem(Model):
    """An event as the bots receive it: the body is sent byte for byte on every attempt and replay."""

    event_id: str
    event_type: str
    body: str
    created_at: datetime
    expires_at: int

    @staticmethod
    def key(event_id: str) -> dict[str, str]:
        return {"pk": f"WHMSG#{event_id}", "sk": "WHMSG"}


class DeliveryItem(Model):
    """One event to one subscription: its `id` is the `webhook-id` every attempt carries."""

    id: str
    webhook_id: str
    event_id: str
    event_type: str
    status: DeliveryStatus
    # the queue message allowed to drive this delivery; a replay or recovery hands it a new one,
    # and a message of an older task is dropped when it comes back
    task_id: str
    attempts: int = 0  # every attempt ever made
    run_attempts: int = 0  # attempts since the schedule (re)started: the position in the schedule
    run_trigger: RunTrigger = "event"  # what (re)started the schedule
    next_attempt_at: datetime | None = None
    last_response_status: int | None = None
    last_error: str | None = None
    created_at: datetime
    updated_at: datetime
    expires_at: int

    @staticmethod
    def key(delivery_id: str) -> dict[str, str]:
        return {"pk": f"WHDLV#{delivery_id}", "sk": "WHDLV"}

    @staticmethod
    def failed_index_key(webhook_id: str) -> str:
        return f"WHFAILED#{webhook_id}"

    def keys(self) -> dict[str, str]:
        keys = self.key(self.id)
        if self.status == "failed":
            keys = {
                **keys,
                "gsi1pk": self.failed_index_key(self.webhook_id),
                "gsi1sk": f"{sortable_time(self.created_at)}#{self.id}",
            }
        return keys


class AttemptItem(Model):
    delivery_id: str
    webhook_id: str
    event_id: str
    event_type: str
    attempt: int
    outcome: AttemptOutcome
    response_status: int | None = None
    latency_ms: float
    response_body: str = ""
    error: str | None = None
    trigger: Literal["event", "retry", "replay", "recovery"] = Field(
        description="event: the first attempt; retry: a scheduled one; replay / recovery: asked for through the API"
    )
    attempted_at: datetime
    next_attempt_at: datetime | None = None
    expires_at: int

    @staticmethod
    def key(delivery_id: str, attempt: int) -> dict[str, str]:
        return {"pk": f"WHDLV#{delivery_id}", "sk": f"ATT#{attempt:04d}"}

    @staticmethod
    def index_key(webhook_id: str) -> str:
        return f"WHATT#{webhook_id}"

    def keys(self) -> dict[str, str]:
        return {
            **self.key(self.delivery_id, self.attempt),
            "gsi1pk": self.index_key(self.webhook_id),
            "gsi1sk": f"{sortable_time(self.attempted_at)}#{self.delivery_id}#{self.attempt:04d}",
        }
