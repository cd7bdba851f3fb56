"""Provider events (webhook deliveries): the DynamoDB implementation of the event store.

One item per delivery (`EventItem`, store/items.py), keyed by what makes a delivery unique, so a
conditional put is the whole dedupe. Events are indexed (gsi1) by the provider's own reference of
their subject, known on arrival: an event lists under its registration or message even when it
arrived before that resource was stored, or before it was processed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chatbridge.store.items import EventItem, ProcessedEvent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


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
        from chatbridge.store.dynamodb import from_attributes
        from chatbridge.store.queries import query_index

        index_key = EventItem.subject_index_key(provider, subject_ref)
        items, token = query_index(self._client, self._table, index_key, limit, next_token)
        return [EventItem.model_validate(from_attributes(found)) for found in items], token


def event_from_image(image: dict[str, Any]) -> EventItem:
    """An event item from a stream record's NewImage (DynamoDB JSON)."""
    from chatbridge.store.dynamodb import from_attributes

    return EventItem.model_validate(from_attributes(image))
