"""Redrive of the events processor's dead-letter queue. Its messages name stream batches (shard and
sequence numbers) the way Lambda's on-failure destination does, never the records: the redrive reads
the records back from the stream (moto's, here), the items from the table, and processes them again."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

import events_redrive_handler
from chatbridge.dead_letters import get_dead_letters
from chatbridge.logic.redrive import redrive
from chatbridge.store import get_store
from chatbridge.store.items import RegistrationItem
from chatbridge.store.stream import StreamRangeUnavailableError, get_table_stream
from tests.support import api_event, body_of
from tests.unit.events_support import (
    TABLE,
    biway_account,
    deliver,
    event_bus_tap,
    presence,
    process,
    report,
    smartregion_registration,
    stored_event,
)

ROUTE = "/v1/admin/events/redrive"
# boto3 addresses DynamoDB Streams per account (<account>.streams-ddb...); moto answers the classic host
STREAMS_ENDPOINT = "https://streams.dynamodb.eu-west-1.amazonaws.com"


@pytest.fixture
def published(aws: None, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[dict[str, Any]]]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", STREAMS_ENDPOINT)
    return event_bus_tap(monkeypatch)


def stream_records() -> tuple[str, str, list[dict[str, Any]]]:
    dynamodb, streams = boto3.client("dynamodb"), boto3.client("dynamodbstreams", endpoint_url=STREAMS_ENDPOINT)
    arn = dynamodb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    (shard,) = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
    return arn, shard["ShardId"], streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]


def dead_letter(records: list[dict[str, Any]]) -> None:
    """What Lambda sends to the on-failure destination when it gives up on these records."""
    arn, shard, _ = stream_records()
    message = {
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 4},
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "version": "1.0",
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "batchSize": len(records),
            "streamArn": arn,
        },
    }
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="events-dlq")["QueueUrl"], MessageBody=json.dumps(message))


def dead_letters_left() -> int:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="events-dlq")["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def inserts_since(count: int) -> list[dict[str, Any]]:
    return [r for r in stream_records()[2][count:] if r["eventName"] == "INSERT"]


def test_the_admin_route_re_applies_and_publishes_the_failed_records(providers, published, context) -> None:
    account = biway_account("acc-1")
    before = len(stream_records()[2])
    failed = deliver("biway", report("acc-1", "ACTIVE", "2026-11-27T10:01:00Z", event="ACCOUNT_STATE"))
    dead_letter(inserts_since(before))

    response = events_redrive_handler.lambda_handler(api_event("POST", ROUTE), context)

    report_ = body_of(response)
    assert response["statusCode"] == 200, report_
    assert (report_["batches"], report_["redriven"], report_["reapplied"], report_["kept"]) == (1, 1, 1, 0)
    assert get_store().get_registration(account.id).status == "active"  # type: ignore[union-attr]
    assert stored_event(failed)["status"]["S"] == "processed"
    assert [e["detail-type"] for e in published()] == ["biway.account.active"]
    assert dead_letters_left() == 0


def test_a_second_redrive_of_the_same_range_changes_nothing(providers, published, context) -> None:
    smartregion_registration("tg-1")
    before = len(stream_records()[2])
    first = deliver("smartregion", presence("tg-1", "connection", "2026-11-27T10:00:00Z"))
    deliver("smartregion", presence("tg-1", "disconnection", "2026-11-27T11:00:00Z"))
    records = inserts_since(before)
    process(context, first)  # one of the two made it through before the batch was given up
    published()
    dead_letter(records)
    dead_letter(records)  # the same batch described twice (a retried destination delivery)

    result = redrive(get_dead_letters(), get_table_stream())

    assert (result.batches, result.redriven, result.records) == (2, 2, 4)
    assert (result.reapplied, result.already_processed) == (1, 3)
    assert [e["detail-type"] for e in published()] == ["smartregion.user.disconnected"]


def test_a_failed_registration_record_brings_its_late_events_in(providers, published, context) -> None:
    early = deliver("biway", report("acc-2", "ACTIVE", "2026-11-27T10:01:00Z", event="ACCOUNT_STATE"))
    process(context, early)  # unmatched: the account was not saved yet
    before = len(stream_records()[2])
    account = biway_account("acc-2")  # ...and the processor failed on its creation record
    dead_letter(inserts_since(before))

    result = redrive(get_dead_letters(), get_table_stream())

    assert result.reapplied >= 1 and result.kept == 0
    assert get_store().get_registration(account.id).status == "active"  # type: ignore[union-attr]
    assert RegistrationItem.key(account.id)["sk"] == "REG"


class GoneStream:
    def changes_between(self, *args: Any) -> list[Any]:
        raise StreamRangeUnavailableError("TrimmedDataAccessException: the stream no longer holds these records")

    def load(self, keys: dict[str, str]) -> None:
        return None


def test_a_range_the_stream_no_longer_holds_is_kept_and_reported(providers, published, context) -> None:
    before = len(stream_records()[2])
    deliver("biway", report("acc-3", "ACTIVE", "2026-11-27T10:01:00Z", event="ACCOUNT_STATE"))
    dead_letter(inserts_since(before))

    result = redrive(get_dead_letters(), GoneStream())

    assert (result.redriven, result.kept) == (0, 1)
    assert "TrimmedDataAccessException" in result.problems[0]
    assert dead_letters_left() == 1


def test_a_record_that_fails_again_keeps_its_message(providers, published, context) -> None:
    before = len(stream_records()[2])
    deliver("biway", report("acc-4", "ACTIVE", "2026-11-27T10:01:00Z", event="ACCOUNT_STATE"))
    dead_letter(inserts_since(before))

    def still_broken(item: dict[str, Any]) -> str:
        raise RuntimeError("still broken")

    result = redrive(get_dead_letters(), get_table_stream(), still_broken)

    assert (result.failed, result.redriven, result.kept) == (1, 0, 1)
    assert dead_letters_left() == 1


def test_a_message_that_describes_no_batch_is_kept(providers, published, context) -> None:
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="events-dlq")["QueueUrl"], MessageBody='{"something": 1}')

    result = redrive(get_dead_letters(), get_table_stream())

    assert (result.batches, result.kept) == (1, 1) and result.problems


@pytest.mark.parametrize(("scopes", "status"), [("messages:write", 403), ("admin", 200), ("admin events:read", 200)])
def test_where_keys_carry_scopes_the_redrive_needs_admin(providers, published, context, scopes, status) -> None:
    caller = {"authenticated": True, "key_id": "k1", "key_name": "ops", "scopes": scopes}

    response = events_redrive_handler.lambda_handler(api_event("POST", ROUTE, authorizer=caller), context)

    assert response["statusCode"] == status


def test_the_command_redrives_and_says_what_it_did(providers, published, context, capsys, monkeypatch) -> None:
    from tools.redrive_events import main

    account = biway_account("acc-5")
    before = len(stream_records()[2])
    deliver("biway", report("acc-5", "ACTIVE", "2026-11-27T10:01:00Z", event="ACCOUNT_STATE"))
    dead_letter(inserts_since(before))
    sqs = boto3.client("sqs")

    status = main(
        [
            "--table",
            TABLE,
            "--queue-url",
            sqs.get_queue_url(QueueName="events-dlq")["QueueUrl"],
            "--bus",
            "chatbridge-test-events",
        ]
    )

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    (printed,) = [line for line in lines if "redriven" in line]
    assert status == 0 and printed["redriven"] == 1 and printed["reapplied"] == 1
    assert get_store().get_registration(account.id).status == "active"  # type: ignore[union-attr]
