"""Provider events (webhook deliveries): the DynamoDB implementation of the event store.

One item per delivery (`EventItem`, store/items.py), keyed by what makes a delivery unique, so a
conditional put is the whole dedupe. Events are indexed (gsi1) by the provider's own reference of
their subject, known on arrival: an event lists under its registration or message even when it
arrived before that resource was stored, or before it was processed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chatbridge.store.items import (
    EVENT_LIST,
    LIST_INDEX,
    STATE_LIST_INDEX,
    EventItem,
    ProcessedEvent,
    list_partition,
    sortable_time,
)
from chatbridge.store.lists import EventFilters

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
        if result.event_type:
            values[":event_type"] = result.event_type
            expression += ", event_type = :event_type"
        # Listed from here on (gsi2, and gsi3 by outcome): a late application that changes the
        # outcome moves it between the outcome lists.
        list_keys = item.list_keys(result.outcome)
        values.update({f":{name}": value for name, value in list_keys.items()})
        expression += "".join(f", {name} = :{name}" for name in list_keys)
        self._client.update_item(
            TableName=self._table,
            Key=to_attributes(item.key(item.provider, item.dedupe_key)),
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_attributes(values),
        )

    def list_events(
        self, filters: EventFilters, limit: int, next_token: str | None
    ) -> tuple[list[EventItem], str | None]:
        return list_events_page(self._client, self._table, filters, limit, next_token)

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


def list_events_page(
    client: DynamoDBClient, table: str, filters: EventFilters, limit: int, next_token: str | None
) -> tuple[list[EventItem], str | None]:
    from chatbridge.store.dynamodb import from_attributes
    from chatbridge.store.queries import ListQuery, list_page

    spec = ListQuery(
        LIST_INDEX if filters.outcome is None else STATE_LIST_INDEX,
        [list_partition(EVENT_LIST, provider, filters.outcome) for provider in filters.providers],
        after=sortable_time(filters.received_after) if filters.received_after else None,
        before=sortable_time(filters.received_before) if filters.received_before else None,
        filters={"event_type": filters.type} if filters.type else None,
    )
    found, token = list_page(client, table, spec, limit, next_token)
    return [EventItem.model_validate(from_attributes(item)) for item in found], token
