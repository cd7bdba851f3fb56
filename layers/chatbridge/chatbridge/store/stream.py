"""The table's stream read back by sequence numbers, and the items its records name.

A stream batch the events processor gave up on reaches its on-failure destination as metadata
only (shard, first and last sequence numbers): a redrive reads those records again from the
stream to learn which items they were, then reads each item from the table as it is now. The
stream keeps records 24 hours; the processor gives a record up at most 6 hours after it arrived
(MaximumRecordAgeInSeconds), so a redrive has at least 18 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RESOURCE_SORT_KEYS = ("REG", "MSG")  # registrations and messages: what late references start from
EMPTY_PAGES_LIMIT = 25  # an open shard answers empty pages while its iterator moves on
GONE = {"TrimmedDataAccessException", "ExpiredIteratorException", "ResourceNotFoundException"}


class StreamRangeUnavailableError(RuntimeError):
    """The stream no longer holds the records (older than 24 h, or the stream was replaced)."""


@dataclass(frozen=True)
class StreamChange:
    event_name: str  # INSERT, MODIFY, REMOVE
    sequence_number: str
    keys: dict[str, str]


class TableStream:
    def __init__(self, streams_client: Any, dynamodb_client: Any, table_name: str) -> None:
        self._streams = streams_client
        self._dynamodb = dynamodb_client
        self._table = table_name

    def changes_between(self, stream_arn: str, shard_id: str, first: str, last: str) -> list[StreamChange]:
        """The records of one shard from sequence number `first` to `last`, both included."""
        from botocore.exceptions import ClientError

        try:
            iterator = self._streams.get_shard_iterator(
                StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=first
            )["ShardIterator"]
            found: list[StreamChange] = []
            empty_pages = 0
            while iterator and empty_pages < EMPTY_PAGES_LIMIT:
                answer = self._streams.get_records(ShardIterator=iterator, Limit=1000)
                records = answer.get("Records", [])
                empty_pages = 0 if records else empty_pages + 1
                for record in records:
                    sequence = record["dynamodb"]["SequenceNumber"]
                    if int(sequence) > int(last):
                        return found
                    keys = {name: value["S"] for name, value in record["dynamodb"]["Keys"].items()}
                    found.append(StreamChange(str(record.get("eventName")), sequence, keys))
                iterator = answer.get("NextShardIterator")
            return found
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in GONE:
                raise StreamRangeUnavailableError(f"{code}: the stream no longer holds these records") from exc
            raise

    def load(self, keys: dict[str, str]) -> dict[str, Any] | None:
        """The item as it is now (consistent read)."""
        from chatbridge.store.dynamodb import from_attributes, to_attributes

        found = self._dynamodb.get_item(TableName=self._table, Key=to_attributes(keys), ConsistentRead=True).get("Item")
        return from_attributes(found) if found else None


def get_table_stream() -> TableStream:
    from chatbridge.aws import dynamodb_client, streams_client
    from chatbridge.settings import get_settings

    return TableStream(streams_client(), dynamodb_client(), get_settings().table_name)


def load_item(keys: dict[str, str]) -> dict[str, Any] | None:
    """An item of the table as it is now (consistent read), by its keys."""
    from chatbridge.aws import dynamodb_client
    from chatbridge.settings import get_settings
    from chatbridge.store.dynamodb import from_attributes, to_attributes

    found = (
        dynamodb_client()
        .get_item(TableName=get_settings().table_name, Key=to_attributes(keys), ConsistentRead=True)
        .get("Item")
    )
    return from_attributes(found) if found else None


def stored_item_of(change: dict[str, Any]) -> dict[str, Any] | None:
    """The item a stream record (its `dynamodb` part) is about. A provider event comes from its
    image (written once by ingestion); a registration or message is read from the table, as it is
    now: it may have changed since, and its image may not be faithful (DynamoDB Local drops
    empty maps from stream images)."""
    from chatbridge.store.dynamodb import from_attributes  # boto3's types: loaded on the first record

    keys = {name: value["S"] for name, value in change["Keys"].items()}
    if keys.get("sk") in RESOURCE_SORT_KEYS:
        return load_item(keys)
    return from_attributes(change["NewImage"])
