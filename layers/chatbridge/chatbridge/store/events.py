"""Provider events (webhook deliveries): the item, its key layout, and the store behind an interface.

One item per delivery, keyed by what makes a delivery unique (the provider's event id, else the
SHA-256 of the body), so a conditional put is the whole dedupe. Items carry `entity: "event"`:
the table stream's filter hands exactly their INSERTs to the events processor. They expire after
EVENT_RETENTION_DAYS through the table's TTL attribute.

Events are indexed (gsi1) by the provider's own reference of their subject (a Bi-way resource id,
a SmartRegion user id), known on arrival: an event lists under its registration or message even
when it arrived before that resource was stored, or before it was processed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, Field

from chatbridge.errors import BadRequestError, FieldIssue
from chatbridge.store.items import sortable_time

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

EVENT_ENTITY = "event"
EVENT_RETENTION_DAYS = 30
SUBJECT_INDEX = "gsi1"

EventStatus = Literal["received", "processed"]
# applied: changed a registration or message; unchanged: matched, but older than (or the same as)
# what is stored; unmatched: no registration or message has this reference; unrecognised: a type
# or shape we do not know, kept and flagged, never applied.
EventOutcome = Literal["applied", "unchanged", "unmatched", "unrecognised"]
SubjectKind = Literal["registration", "message"]


class EventItem(BaseModel):
    """What ingestion stores (identity, the raw body, the subject and time for the index), then what
    the processor records. Type, state and facts are read from `raw` where needed
    (chatbridge.logic.provider_events.describe): the put the provider waits on stays small."""

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

    @staticmethod
    def key(provider: str, dedupe_key: str) -> dict[str, str]:
        return {"pk": f"EVENT#{provider}#{dedupe_key}", "sk": "EVENT"}

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


class ProcessedEvent(BaseModel):
    """What the processor records on an event once it is applied and published."""

    outcome: EventOutcome
    detail_type: str | None = None
    registration_ids: list[str] = Field(default_factory=list)
    message_id: str | None = None
    processed_at: datetime


class EventStore(Protocol):
    def add_event(self, item: EventItem) -> bool:
        """Store a delivery once; False when an equal delivery is already stored."""
        ...

    def get_event(self, provider: str, dedupe_key: str) -> EventItem | None: ...

    def mark_processed(self, item: EventItem, result: ProcessedEvent) -> None: ...

    def events_of_subject(
        self, provider: str, subject_ref: str, limit: int, next_token: str | None
    ) -> tuple[list[EventItem], str | None]: ...


def get_event_store() -> EventStore:
    """Built per call from the cached client and settings (both reset between tests): no state here."""
    from chatbridge.aws import dynamodb_client
    from chatbridge.settings import get_settings

    return DynamoEventStore(dynamodb_client(), get_settings().table_name)


class DynamoEventStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def add_event(self, item: EventItem) -> bool:
        from chatbridge.store.dynamodb import to_attributes

        # Defaults (status received, no outcome yet...) are left out: a smaller item is a cheaper put on
        # the path the provider waits on; reading the item back fills them in.
        values = {**item.model_dump(mode="json", exclude_none=True, exclude_defaults=True), **item.keys()}
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_attributes(values),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def get_event(self, provider: str, dedupe_key: str) -> EventItem | None:
        from chatbridge.store.dynamodb import from_attributes, to_attributes

        response = self._client.get_item(
            TableName=self._table, Key=to_attributes(EventItem.key(provider, dedupe_key)), ConsistentRead=True
        )
        found = response.get("Item")
        return EventItem.model_validate(from_attributes(found)) if found else None

    def mark_processed(self, item: EventItem, result: ProcessedEvent) -> None:
        from chatbridge.store.dynamodb import to_attributes

        values: dict[str, Any] = {
            ":processed": "processed",
            ":outcome": result.outcome,
            ":at": result.processed_at.isoformat(),
            ":registrations": result.registration_ids,
        }
        expression = (
            "SET #status = :processed, outcome = :outcome, processed_at = :at, registration_ids = :registrations"
        )
        if result.message_id:
            values[":message"] = result.message_id
            expression += ", message_id = :message"
        if result.detail_type:
            values[":detail_type"] = result.detail_type
            expression += ", detail_type = :detail_type"
        self._client.update_item(
            TableName=self._table,
            Key=to_attributes(item.key(item.provider, item.dedupe_key)),
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_attributes(values),
        )

    def events_of_subject(
        self, provider: str, subject_ref: str, limit: int, next_token: str | None
    ) -> tuple[list[EventItem], str | None]:
        from chatbridge.store.dynamodb import decode_token, encode_token, from_attributes

        index_key = EventItem.subject_index_key(provider, subject_ref)
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": SUBJECT_INDEX,
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": index_key}},
            "Limit": limit,
        }
        start = decode_token(next_token, {"pk", "sk", "gsi1pk", "gsi1sk"})
        if start:
            if start["gsi1pk"]["S"] != index_key:
                raise BadRequestError(
                    "next_token belongs to another query.", errors=[FieldIssue("next_token", "token of another query")]
                )
            query["ExclusiveStartKey"] = start
        response = self._client.query(**query)
        items = [EventItem.model_validate(from_attributes(found)) for found in response.get("Items", [])]
        return items, encode_token(response.get("LastEvaluatedKey"))


def event_from_image(image: dict[str, Any]) -> EventItem:
    """An event item from a stream record's NewImage (DynamoDB JSON)."""
    from chatbridge.store.dynamodb import from_attributes

    return EventItem.model_validate(from_attributes(image))
