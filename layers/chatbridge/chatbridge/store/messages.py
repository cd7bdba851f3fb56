"""Messages and their statuses: the interface, its DynamoDB implementation and the cached factory.

Key layout (see store/items.py): `MSG#<id>|MSG` the message, `MSG#<id>|RCPT#<recipient>` one
recipient of a multi-recipient send, `MSGREF#<provider>#<provider_ref>|MSGREF` the pointer a
callback follows. Every path is GetItem, Query or a conditional write.

Status updates arrive out of order and more than once (providers retry callbacks), so
`apply_status` decides with conditions evaluated by DynamoDB, not by a read-then-write: an event
is applied once per `event_id`, and an event older than the current status only joins the history.
Provider reports are ordered among themselves only (provider time, then lifecycle rank): a message
is stored without `status_at`, so our own first status yields to the first report whatever its time.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chatbridge.clock import utc_now
from chatbridge.message_statuses import rank_of
from chatbridge.page_tokens import invalid_token
from chatbridge.store.base import MessageRecord
from chatbridge.store.dynamodb import decode_token, encode_token, from_attributes, to_attributes
from chatbridge.store.items import (
    RECIPIENT_SK_PREFIX,
    MessageItem,
    MessageRefItem,
    RecipientItem,
    StatusChange,
    sortable_time,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CONDITION_FAILED = "ConditionalCheckFailedException"


class MessageIdTakenError(Exception):
    """Another message already has this id (an Idempotency-Key reused after its record expired)."""


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """JSON-mode values; floats become Decimals, which DynamoDB needs."""
    plain: dict[str, Any] = json.loads(json.dumps(values), parse_float=Decimal)
    return plain


def _failed_condition(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == CONDITION_FAILED


class DynamoMessageStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def create_message(self, item: MessageItem) -> MessageItem:
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    # Our first status carries no status_at, whatever the caller set: the first
                    # provider report replaces it, however the provider's clock compares with ours.
                    "Item": to_attributes(
                        _plain({**item.model_dump(mode="json", exclude={"status_at"}), **item.key(item.id)})
                    ),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        if item.provider_ref:
            pointer = MessageRefItem(
                provider=item.provider,
                provider_ref=item.provider_ref,
                message_id=item.id,
                per_recipient=item.per_recipient,
            )
            # The newest message wins a reference a provider hands out twice.
            writes.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_attributes(
                            {**pointer.model_dump(mode="json"), **pointer.key(item.provider, item.provider_ref)}
                        ),
                    }
                }
            )
        try:
            self._client.transact_write_items(TransactItems=writes)  # type: ignore[arg-type]
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                raise MessageIdTakenError(item.id) from exc
            raise
        return item

    def get_message(
        self, message_id: str, *, recipients_limit: int = 100, next_token: str | None = None
    ) -> MessageRecord | None:
        found = self._client.get_item(
            TableName=self._table, Key=to_attributes(MessageItem.key(message_id)), ConsistentRead=True
        ).get("Item")
        if not found:
            return None
        message = MessageItem.model_validate(from_attributes(found))
        if not message.per_recipient or recipients_limit <= 0:
            # recipients_limit 0: the message alone (no Query, and no page token to seal)
            return MessageRecord(message=message, recipients=[])
        pk = MessageItem.key(message_id)["pk"]
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":prefix": {"S": RECIPIENT_SK_PREFIX}},
            "Limit": recipients_limit,
            "ConsistentRead": True,
        }
        bound_to = f"messages/{pk}"
        start = decode_token(next_token, {"pk", "sk"}, bound_to)
        if start:
            if start["pk"] != {"S": pk}:
                raise invalid_token()
            query["ExclusiveStartKey"] = start
        response = self._client.query(**query)
        recipients = [RecipientItem.model_validate(from_attributes(i)) for i in response.get("Items", [])]
        return MessageRecord(
            message=message,
            recipients=recipients,
            next_token=encode_token(response.get("LastEvaluatedKey"), bound_to),
        )

    def find_message_by_provider_ref(self, provider: str, provider_ref: str) -> MessageItem | None:
        pointer = self._pointer(provider, provider_ref)
        if pointer is None:
            return None
        record = self.get_message(pointer.message_id, recipients_limit=0)
        return record.message if record else None

    def apply_status(  # noqa: PLR0917 - positional by the cross-team contract (the events processor calls it so)
        self,
        provider: str,
        provider_ref: str,
        status: str,
        occurred_at: datetime,
        event_id: str,
        recipient: str | None,
    ) -> bool:
        pointer = self._pointer(provider, provider_ref)
        if pointer is None:
            return False
        ours = status
        change = StatusChange(status=ours, at=occurred_at, event_id=event_id, recipient=recipient)
        if recipient and pointer.per_recipient:
            key = RecipientItem.key(pointer.message_id, recipient)
            # The first event about a recipient creates its item.
            must_exist = ""
            creates = (
                ", message_id = if_not_exists(message_id, :message_id)"
                ", recipient = if_not_exists(recipient, :recipient)"
                ", created_at = if_not_exists(created_at, :now)"
            )
            extra_values: dict[str, Any] = {":message_id": pointer.message_id, ":recipient": recipient}
        else:
            key = MessageItem.key(pointer.message_id)
            must_exist, creates, extra_values = "attribute_exists(pk) AND ", "", {}
        values = {
            ":status": ours,
            ":at": sortable_time(occurred_at),
            ":rank": rank_of(ours),
            ":entry": [change.model_dump(mode="json", exclude_none=True)],
            ":empty": [],
            ":event": {event_id},
            ":event_id": event_id,
            ":now": sortable_time(utc_now()),
            **extra_values,
        }
        history = "status_history = list_append(if_not_exists(status_history, :empty), :entry), updated_at = :now"
        newer = "(attribute_not_exists(status_at) OR status_at < :at OR (status_at = :at AND status_rank <= :rank))"
        fresh = "NOT contains(event_ids, :event_id)"
        try:
            self._update(
                key,
                f"SET #status = :status, status_at = :at, status_rank = :rank, {history}{creates} ADD event_ids :event",
                f"{must_exist}{newer} AND {fresh}",
                values,
            )
            return True
        except ClientError as exc:
            if not _failed_condition(exc):
                raise
        # Older than the current status, or a repeat: an older event still belongs in the history.
        try:
            self._update(
                key,
                f"SET {history} ADD event_ids :event",
                f"{must_exist}attribute_exists(status_at) AND {fresh}",
                {k: v for k, v in values.items() if k in {":entry", ":empty", ":event", ":event_id", ":now"}},
            )
            return True
        except ClientError as exc:
            if _failed_condition(exc):
                return False
            raise

    def _update(self, key: dict[str, str], expression: str, condition: str, values: dict[str, Any]) -> None:
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": to_attributes(key),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": to_attributes(_plain_values(values)),
        }
        if ":status" in values:
            request["ExpressionAttributeNames"] = {"#status": "status"}  # a DynamoDB reserved word
        self._client.update_item(**request)

    def _pointer(self, provider: str, provider_ref: str) -> MessageRefItem | None:
        found = self._client.get_item(
            TableName=self._table, Key=to_attributes(MessageRefItem.key(provider, provider_ref))
        ).get("Item")
        return MessageRefItem.model_validate(from_attributes(found)) if found else None


def _plain_values(values: dict[str, Any]) -> dict[str, Any]:
    # Sets do not survive a JSON round trip; everything else needs Decimals for floats.
    sets = {k: v for k, v in values.items() if isinstance(v, set)}
    others = _plain({k: v for k, v in values.items() if k not in sets})
    return {**others, **sets}
