"""Webhook subscriptions, the events sent to them, deliveries and attempts (DynamoDB).

Key layout in store/items.py. Every path is GetItem, Query or a conditional write: a subscription
list is one Query on `WHEPS`, a subscription's attempt log one Query on `WHATT#<id>`, its failed
deliveries one Query on the sparse `WHFAILED#<id>`. A delivery changes only under a condition on
the task that drives it (and its attempt count), so two workers holding copies of one queue message
record one attempt, and a message of a superseded task changes nothing.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic_core import to_jsonable_python

from chatbridge.store.dynamodb import from_attributes, to_attributes
from chatbridge.store.items import (
    WEBHOOK_LIST_KEY,
    AttemptItem,
    DeliveryItem,
    SealedSecretItem,
    WebhookItem,
    WebhookMessageItem,
    sortable_time,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LIST_PAGE = 100


def _values(item: WebhookItem | DeliveryItem | AttemptItem) -> dict[str, Any]:
    """The item's attributes and keys; floats become Decimals (JSON round trip), as DynamoDB needs."""
    plain: dict[str, Any] = json.loads(item.model_dump_json(), parse_float=Decimal)
    return {**plain, **item.keys()}


def _json(value: Any) -> Any:
    """As pydantic writes it in JSON mode (times as the items carry them: conditions compare strings)."""
    return json.loads(json.dumps(to_jsonable_python(value)), parse_float=Decimal)


def _condition_failed(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code")
    if code == "ConditionalCheckFailedException":
        return True
    reasons = exc.response.get("CancellationReasons") or []
    return code == "TransactionCanceledException" and any(r.get("Code") == "ConditionalCheckFailed" for r in reasons)


class DynamoWebhookStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # -- subscriptions -------------------------------------------------------------------------

    def create_webhook(self, item: WebhookItem) -> bool:
        """False when the id is taken (an Idempotency-Key used before)."""
        return self._put(_values(item), "attribute_not_exists(pk)")

    def get_webhook(self, webhook_id: str) -> WebhookItem | None:
        found = self._get(WebhookItem.key(webhook_id))
        return WebhookItem.model_validate(found) if found else None

    def list_webhooks(self, limit: int, next_token: str | None) -> tuple[list[WebhookItem], str | None]:
        items, token = self._query_index(WEBHOOK_LIST_KEY, limit, next_token, newest_first=False)
        return [WebhookItem.model_validate(i) for i in items], token

    def all_webhooks(self) -> list[WebhookItem]:
        found: list[WebhookItem] = []
        token: str | None = None
        while True:
            page, token = self.list_webhooks(LIST_PAGE, token)
            found.extend(page)
            if not token:
                return found

    def update_webhook(
        self, webhook_id: str, changes: dict[str, Any], removes: tuple[str, ...] = ()
    ) -> WebhookItem | None:
        """Set `changes` and remove `removes`; None when there is no such subscription."""
        names = {f"#n{i}": name for i, name in enumerate([*changes, *removes])}
        aliases = {name: alias for alias, name in names.items()}
        expression = "SET " + ", ".join(f"{aliases[name]} = :v{aliases[name][2:]}" for name in changes)
        if removes:
            expression += " REMOVE " + ", ".join(aliases[name] for name in removes)
        values = {f":v{aliases[name][2:]}": value for name, value in changes.items()}
        answer = self._update(webhook_id, expression, "attribute_exists(pk)", values, names=names, returns="ALL_NEW")
        return WebhookItem.model_validate(from_attributes(answer["Attributes"])) if answer else None

    def replace_secrets(
        self, webhook_id: str, secrets: list[SealedSecretItem], expected_updated_at: datetime, now: datetime
    ) -> bool:
        """A rotation: False when the subscription changed since it was read (or is gone)."""
        values = {
            ":secrets": [s.model_dump(mode="json") for s in secrets],
            ":now": now,
            ":expected": expected_updated_at,
        }
        expression, condition = (
            "SET secrets = :secrets, updated_at = :now",
            "attribute_exists(pk) AND updated_at = :expected",
        )
        return self._update(webhook_id, expression, condition, values) is not None

    def mark_failing(self, webhook_id: str, since: datetime) -> None:
        """Start the failing period unless one is running (the first failure after a success)."""
        expression = "SET failing_since = if_not_exists(failing_since, :since)"
        self._update(webhook_id, expression, "attribute_exists(pk)", {":since": since})

    def clear_failing(self, webhook_id: str) -> None:
        self._update(webhook_id, "REMOVE failing_since", "attribute_exists(pk)")

    def disable_webhook(self, webhook_id: str, reason: str, at: datetime) -> bool:
        """True for the one caller that disabled it (the one that announces it)."""
        expression = "SET enabled = :off, disabled_reason = :reason, disabled_at = :at, updated_at = :at"
        values = {":off": False, ":on": True, ":reason": reason, ":at": at}
        return self._update(webhook_id, expression, "attribute_exists(pk) AND enabled = :on", values) is not None

    def delete_webhook(self, webhook_id: str) -> bool:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=to_attributes(WebhookItem.key(webhook_id)),
                ConditionExpression="attribute_exists(pk)",
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def _update(
        self,
        webhook_id: str,
        expression: str,
        condition: str,
        values: dict[str, Any] | None = None,
        *,
        names: dict[str, str] | None = None,
        returns: str = "NONE",
    ) -> dict[str, Any] | None:
        """One conditional update of a subscription; None when the condition failed."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": to_attributes(WebhookItem.key(webhook_id)),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ReturnValues": returns,
        }
        if values:
            request["ExpressionAttributeValues"] = to_attributes({k: _json(v) for k, v in values.items()})
        if names:
            request["ExpressionAttributeNames"] = names
        try:
            answer = self._client.update_item(**request)
        except ClientError as exc:
            if _condition_failed(exc):
                return None
            raise
        return dict(answer)

    # -- events as sent --------------------------------------------------------------------------

    def put_message(self, item: WebhookMessageItem) -> bool:
        """Stored once (False when it already was): every attempt and replay sends the first body."""
        values = {**item.model_dump(mode="json"), **item.key(item.event_id)}
        return self._put(values, "attribute_not_exists(pk)")

    def get_message(self, event_id: str) -> WebhookMessageItem | None:
        found = self._get(WebhookMessageItem.key(event_id))
        return WebhookMessageItem.model_validate(found) if found else None

    # -- deliveries and attempts -----------------------------------------------------------------

    def get_delivery(self, delivery_id: str) -> DeliveryItem | None:
        found = self._get(DeliveryItem.key(delivery_id))
        return DeliveryItem.model_validate(found) if found else None

    def put_delivery(self, item: DeliveryItem, *, expected_task: str | None) -> bool:
        """Write the delivery if it is still driven by `expected_task` (None: if it does not exist yet)."""
        condition, values = self._delivery_condition(expected_task, None)
        return self._put(_values(item), condition, values)

    def put_delivery_with_attempt(
        self, item: DeliveryItem, attempt: AttemptItem, *, expected_task: str, expected_attempts: int
    ) -> bool:
        """Record an attempt and the delivery's new state together; False when another worker did."""
        condition, values = self._delivery_condition(expected_task, expected_attempts)
        put_delivery: dict[str, Any] = {
            "TableName": self._table,
            "Item": to_attributes(_values(item)),
            "ConditionExpression": condition,
            "ExpressionAttributeValues": to_attributes(values),
        }
        put_attempt = {
            "TableName": self._table,
            "Item": to_attributes(_values(attempt)),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        try:
            self._client.transact_write_items(TransactItems=[{"Put": put_delivery}, {"Put": put_attempt}])  # type: ignore[typeddict-item]
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    @staticmethod
    def _delivery_condition(expected_task: str | None, expected_attempts: int | None) -> tuple[str, dict[str, Any]]:
        if expected_task is None:
            return "attribute_not_exists(pk)", {}
        condition = "task_id = :task"
        values: dict[str, Any] = {":task": expected_task}
        if expected_attempts is not None:
            condition += " AND attempts = :attempts"
            values[":attempts"] = expected_attempts
        return condition, values

    def failed_deliveries(
        self, webhook_id: str, since: datetime, limit: int, next_token: str | None
    ) -> tuple[list[DeliveryItem], str | None]:
        items, token = self._query_index(
            DeliveryItem.failed_index_key(webhook_id),
            limit,
            next_token,
            newest_first=False,
            from_sk=sortable_time(since),
        )
        return [DeliveryItem.model_validate(i) for i in items], token

    def attempts_of(self, webhook_id: str, limit: int, next_token: str | None) -> tuple[list[AttemptItem], str | None]:
        items, token = self._query_index(AttemptItem.index_key(webhook_id), limit, next_token, newest_first=True)
        return [AttemptItem.model_validate(i) for i in items], token

    # -- plumbing --------------------------------------------------------------------------------

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        found = self._client.get_item(TableName=self._table, Key=to_attributes(key), ConsistentRead=True).get("Item")
        return from_attributes(found) if found else None

    def _put(self, values: dict[str, Any], condition: str, condition_values: dict[str, Any] | None = None) -> bool:
        request: dict[str, Any] = {
            "TableName": self._table,
            "Item": to_attributes(values),
            "ConditionExpression": condition,
        }
        if condition_values:
            request["ExpressionAttributeValues"] = to_attributes(condition_values)
        try:
            self._client.put_item(**request)
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def _query_index(
        self, index_key: str, limit: int, next_token: str | None, *, newest_first: bool, from_sk: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        from chatbridge.store.queries import query_index

        items, token = query_index(
            self._client, self._table, index_key, limit, next_token, newest_first=newest_first, from_sk=from_sk
        )
        return [from_attributes(i) for i in items], token
