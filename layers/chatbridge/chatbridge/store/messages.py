"""Messages and their statuses: the interface, its DynamoDB implementation and the cached factory.

Key layout (see store/items.py): `MSG#<id>|MSG` the message, `MSG#<id>|RCPT#<recipient>` one
recipient of a multi-recipient send, `MSGREF#<provider>#<provider_ref>|MSGREF` the pointer a
callback follows, `UNKNOWN#<provider>#<match key>|...` the pointers to a message stored
`unknown`. Every path is GetItem, Query or a conditional write.

Status updates arrive out of order and more than once (providers retry callbacks), so
`apply_status` decides with conditions evaluated by DynamoDB, not by a read-then-write: an event
is applied once per `event_id`, and an event older than the current status only joins the history.
Provider reports are ordered among themselves only (provider time, then lifecycle rank): a message
is stored without `status_at`, so our own first status yields to the first report whatever its time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chatbridge.clock import utc_now
from chatbridge.message_statuses import UNKNOWN_STATUS, aggregate_status, rank_of
from chatbridge.page_tokens import invalid_token
from chatbridge.store.base import MessageRecord
from chatbridge.store.dynamodb import decode_token, encode_token, from_attributes, to_attributes
from chatbridge.store.items import (
    LIST_INDEX,
    MESSAGE_LIST,
    RECIPIENT_COUNT_PREFIX,
    RECIPIENT_SK_PREFIX,
    STATE_LIST_INDEX,
    UNKNOWN_MATCH_TTL,
    MessageItem,
    MessageRefItem,
    RecipientItem,
    StatusChange,
    UnknownMatchItem,
    list_partition,
    sortable_time,
)
from chatbridge.store.lists import MessageFilters

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CONDITION_FAILED = "ConditionalCheckFailedException"
MOVES = "SET #status = :status, status_at = :at, status_rank = :rank"
HISTORY = "status_history = list_append(if_not_exists(status_history, :empty), :entry), updated_at = :now"
NEWER = "(attribute_not_exists(status_at) OR status_at < :at OR (status_at = :at AND status_rank <= :rank))"
FRESH = "NOT contains(event_ids, :event_id)"
# Reads and transactions one recipient report may take when other reports race on that recipient.
RECIPIENT_MOVE_ATTEMPTS = 5
# Pointers written with an `unknown` message (one transaction holds at most 100 writes).
MAX_MATCH_KEYS = 50


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

    def create_message(self, item: MessageItem, match_keys: Sequence[str] = ()) -> MessageItem:
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    # Our first status carries no status_at, whatever the caller set: the first
                    # provider report replaces it, however the provider's clock compares with ours.
                    "Item": to_attributes(
                        _plain({**item.model_dump(mode="json", exclude={"status_at"}), **item.keys()})
                    ),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        if item.provider_ref:
            # The newest message wins a reference a provider hands out twice.
            writes.append(self._ref_put(item, item.provider_ref))
        expires_at = int((item.created_at + UNKNOWN_MATCH_TTL).timestamp())
        for match_key in dict.fromkeys(match_keys[:MAX_MATCH_KEYS]):
            pointer = UnknownMatchItem(
                provider=item.provider,
                match_key=match_key,
                message_id=item.id,
                created_at=item.created_at,
                expires_at=expires_at,
            )
            writes.append(self._put({**pointer.model_dump(mode="json"), **pointer.key()}))
        if not self._transact(writes):
            raise MessageIdTakenError(item.id)
        return item

    def unknown_messages(self, provider: str, match_key: str, since: datetime) -> list[MessageItem]:
        """Messages still `unknown` that were stored with `match_key` from `since` on, oldest first."""
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk >= :since",
            ExpressionAttributeValues={
                ":pk": {"S": UnknownMatchItem.partition(provider, match_key)},
                ":since": {"S": UnknownMatchItem.sort_key(since)},
            },
            Limit=MAX_MATCH_KEYS,
        )
        found = []
        for pointer in response.get("Items", []):
            record = self.get_message(str(from_attributes(pointer)["message_id"]), recipients_limit=1)
            if record is not None and record.message.status == UNKNOWN_STATUS:
                found.append(record.message)
        return found

    def resolve_unknown(
        self, message: MessageItem, *, status: str, provider_ref: str | None, note: str
    ) -> MessageItem | None:
        """Give a message stored `unknown` the status (ours) and reference the provider's word
        revealed, with a note of how; None when it is no longer `unknown` (resolved meanwhile).

        The status has no status time, like every status of ours: the provider's first report on
        the message still replaces it.
        """
        now = utc_now()
        change = StatusChange(status=status, at=now)
        values: dict[str, Any] = {
            ":status": status,
            ":unknown": UNKNOWN_STATUS,
            ":note": note,
            ":entry": [change.model_dump(mode="json", exclude_none=True)],
            ":empty": [],
            ":now": sortable_time(now),
        }
        values[":state_list"] = list_partition(MESSAGE_LIST, message.provider, status)
        expression = (
            "SET #status = :status, #details.resolution = :note, updated_at = :now, gsi3pk = :state_list, "
            "status_history = list_append(if_not_exists(status_history, :empty), :entry)"
        )
        if provider_ref:
            expression += ", provider_ref = :ref"
            values[":ref"] = provider_ref
        writes: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": to_attributes(MessageItem.key(message.id)),
                    "UpdateExpression": expression,
                    "ConditionExpression": "#status = :unknown",
                    "ExpressionAttributeNames": {"#status": "status", "#details": "details"},
                    "ExpressionAttributeValues": to_attributes(_plain_values(values)),
                }
            }
        ]
        if provider_ref:
            writes.append(self._ref_put(message, provider_ref))
        if not self._transact(writes):
            return None
        record = self.get_message(message.id, recipients_limit=1)
        return record.message if record else None

    def _put(self, values: dict[str, Any]) -> dict[str, Any]:
        return {"Put": {"TableName": self._table, "Item": to_attributes(values)}}

    def _ref_put(self, message: MessageItem, provider_ref: str) -> dict[str, Any]:
        """The write of the pointer a callback naming `provider_ref` follows to `message`."""
        pointer = MessageRefItem(
            provider=message.provider,
            provider_ref=provider_ref,
            message_id=message.id,
            per_recipient=message.per_recipient,
        )
        return self._put({**pointer.model_dump(mode="json"), **pointer.key(message.provider, provider_ref)})

    def _transact(self, writes: list[dict[str, Any]]) -> bool:
        """Write all or nothing; False when the first write's condition failed."""
        try:
            self._client.transact_write_items(TransactItems=writes)  # type: ignore[arg-type]
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False
            raise
        return True

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
        values = {
            ":status": ours,
            ":at": sortable_time(occurred_at),
            ":rank": rank_of(ours),
            ":entry": [change.model_dump(mode="json", exclude_none=True)],
            ":empty": [],
            ":event": {event_id},
            ":event_id": event_id,
            ":now": sortable_time(utc_now()),
        }
        if recipient and pointer.per_recipient:
            key = RecipientItem.key(pointer.message_id, recipient)
            applied = self._apply_recipient_status(key, pointer.message_id, recipient, values)
        else:
            key = MessageItem.key(pointer.message_id)
            moves_list = ""
            if not pointer.per_recipient:
                # a per-recipient send is listed by its aggregate instead (_sync_list_status)
                values[":state_list"] = list_partition(MESSAGE_LIST, provider, ours)
                moves_list = ", gsi3pk = :state_list"
            applied = self._try_update(
                key,
                f"{MOVES}, {HISTORY}{moves_list} ADD event_ids :event",
                f"attribute_exists(pk) AND {NEWER} AND {FRESH}",
                values,
            )
        if not applied:
            # Older than the current status, or a repeat: an older event still belongs in the history.
            applied = self._try_update(
                key,
                f"SET {HISTORY} ADD event_ids :event",
                f"attribute_exists(pk) AND attribute_exists(status_at) AND {FRESH}",
                {k: v for k, v in values.items() if k in {":entry", ":empty", ":event", ":event_id", ":now"}},
            )
        if pointer.per_recipient:
            # also after a repeat: a crash between a recipient's move and the sync is mended here
            self._sync_list_status(pointer.message_id)
        return applied

    def _apply_recipient_status(
        self, key: dict[str, str], message_id: str, recipient: str, values: dict[str, Any]
    ) -> bool:
        """Move a recipient to a newer status and its message's counters with it, in one transaction.

        The counters (`rcount_<status>`, ADD: no condition on the message item, so concurrent
        recipients do not contend on it) stay exact: the recipient's update is conditioned on the
        status it was read in, so two reports racing on one recipient cannot both count it. False:
        the report is older than (or the same as) what is stored.
        """
        values = {**values, ":message_id": message_id, ":recipient": recipient}
        # The first event about a recipient creates its item.
        creates = (
            ", message_id = if_not_exists(message_id, :message_id)"
            ", recipient = if_not_exists(recipient, :recipient)"
            ", created_at = if_not_exists(created_at, :now)"
        )
        expression = f"{MOVES}, {HISTORY}{creates} ADD event_ids :event"
        for _ in range(RECIPIENT_MOVE_ATTEMPTS):
            previous = self._status_of(key)
            read_in = "attribute_not_exists(#status)" if previous is None else "#status = :previous"
            update: dict[str, Any] = {
                "TableName": self._table,
                "Key": to_attributes(key),
                "UpdateExpression": expression,
                "ConditionExpression": f"{read_in} AND {NEWER} AND {FRESH}",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": to_attributes(
                    _plain_values({**values, **({":previous": previous} if previous is not None else {})})
                ),
            }
            writes: list[dict[str, Any]] = [{"Update": update}]
            if previous != values[":status"]:
                counts = "ADD #moved_to :one, recipient_reports :one" + (", #moved_from :minus" if previous else "")
                names = {"#moved_to": f"{RECIPIENT_COUNT_PREFIX}{values[':status']}"}
                if previous:
                    names["#moved_from"] = f"{RECIPIENT_COUNT_PREFIX}{previous}"
                writes.append(
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": to_attributes(MessageItem.key(message_id)),
                            "UpdateExpression": counts,
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeNames": names,
                            "ExpressionAttributeValues": to_attributes(
                                {":one": 1, **({":minus": -1} if previous else {})}
                            ),
                        }
                    }
                )
            reasons = self._cancellations(writes)
            if reasons is None:
                return True
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                return False  # the message itself is gone
            if reasons[0] != "ConditionalCheckFailed":
                continue  # a transaction conflict: read again
            if self._status_of(key) == previous:
                return False  # not a race: the report is older, or a repeat
        return False

    def _status_of(self, key: dict[str, str]) -> str | None:
        found = self._client.get_item(TableName=self._table, Key=to_attributes(key), ConsistentRead=True).get("Item")
        return str(from_attributes(found)["status"]) if found and "status" in found else None

    def _cancellations(self, writes: list[dict[str, Any]]) -> list[str] | None:
        """Write all or nothing; None on success, else why each write was cancelled."""
        try:
            self._client.transact_write_items(TransactItems=writes)  # type: ignore[arg-type]
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if not reasons:
                raise
            return [str(reason.get("Code", "None")) for reason in reasons]
        return None

    def _sync_list_status(self, message_id: str) -> None:
        """List a per-recipient send under its aggregate status (message_statuses.aggregate_status).

        Conditioned on the counters it was computed from: when another recipient moved meanwhile,
        that move's own sync lists it, so the last one computes from the final counts."""
        found = self._client.get_item(
            TableName=self._table, Key=to_attributes(MessageItem.key(message_id)), ConsistentRead=True
        ).get("Item")
        if not found or "gsi2pk" not in found:
            return  # gone, or stored before the lists existed
        message = MessageItem.model_validate(from_attributes(found))
        state_list = list_partition(MESSAGE_LIST, message.provider, aggregate_status(message))
        if found.get("gsi3pk") == {"S": state_list}:
            return
        seen = "recipient_reports = :seen" if message.recipient_reports else "attribute_not_exists(recipient_reports)"
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_attributes(MessageItem.key(message_id)),
                UpdateExpression="SET gsi3pk = :state_list",
                ConditionExpression=f"{seen} AND #status = :status",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_attributes(
                    {":state_list": state_list, ":status": message.status, ":seen": message.recipient_reports}
                    if message.recipient_reports
                    else {":state_list": state_list, ":status": message.status}
                ),
            )
        except ClientError as exc:
            if not _failed_condition(exc):
                raise

    def list_messages(
        self, filters: MessageFilters, limit: int, next_token: str | None
    ) -> tuple[list[MessageItem], str | None]:
        from chatbridge.store.queries import ListQuery, list_page

        spec = ListQuery(
            LIST_INDEX if filters.status is None else STATE_LIST_INDEX,
            [list_partition(MESSAGE_LIST, provider, filters.status) for provider in filters.providers],
            after=sortable_time(filters.created_after) if filters.created_after else None,
            before=sortable_time(filters.created_before) if filters.created_before else None,
            filters={
                name: value for name, value in (("connection", filters.connection), ("kind", filters.kind)) if value
            },
        )
        found, token = list_page(self._client, self._table, spec, limit, next_token)
        return [MessageItem.model_validate(from_attributes(item)) for item in found], token

    def _try_update(self, key: dict[str, str], expression: str, condition: str, values: dict[str, Any]) -> bool:
        try:
            self._update(key, expression, condition, values)
        except ClientError as exc:
            if _failed_condition(exc):
                return False
            raise
        return True

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
