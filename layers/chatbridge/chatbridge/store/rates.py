"""The shared call schedule of rate-limited provider credentials, in the table.

Generic cell rate algorithm with two conditional updates and no read: an idle schedule gives the
caller the present instant; a busy one gives it the next slot by adding one interval atomically.
Every environment of every function draws from the same schedule, so N concurrent Lambdas together
keep a provider's per-credential limit instead of N times it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatbridge.store.dynamodb import to_attributes
from chatbridge.store.items import RateScheduleItem

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# An idle schedule item outlives its last use by this long, then the table's TTL removes it.
SCHEDULE_TTL_SECONDS = 3600


class DynamoRateSchedule:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def reserve(
        self, provider: str, fingerprint: str, *, now_ms: int, interval_ms: int, tolerance_ms: int, latest_ms: int
    ) -> int | None:
        """The instant (ms) the caller may send at, or None if no slot is free before `latest_ms`."""
        key = to_attributes(RateScheduleItem.key(provider, fingerprint))
        expires = {":expires": {"N": str(now_ms // 1000 + SCHEDULE_TTL_SECONDS)}}
        failed = self._client.exceptions.ConditionalCheckFailedException
        try:
            # idle: the next call after this one may go one interval from now
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression=(
                    "SET next_at_ms = :next, provider = :provider, fingerprint = :fp, expires_at = :expires"
                ),
                ConditionExpression="attribute_not_exists(next_at_ms) OR next_at_ms <= :idle_before",
                ExpressionAttributeValues={
                    ":next": {"N": str(now_ms + interval_ms)},
                    ":idle_before": {"N": str(now_ms)},
                    ":provider": {"S": provider},
                    ":fp": {"S": fingerprint},
                    **expires,
                },
            )
            return now_ms
        except failed:
            pass
        try:
            # busy: take the next slot, unless the queue already reaches past what the caller can wait
            answer = self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET next_at_ms = next_at_ms + :interval, expires_at = :expires",
                ConditionExpression="next_at_ms <= :latest",
                ExpressionAttributeValues={
                    ":interval": {"N": str(interval_ms)},
                    ":latest": {"N": str(latest_ms + tolerance_ms)},
                    **expires,
                },
                ReturnValues="UPDATED_NEW",
            )
        except failed:
            return None
        next_at = int(answer["Attributes"]["next_at_ms"]["N"])
        return max(now_ms, next_at - interval_ms - tolerance_ms)
