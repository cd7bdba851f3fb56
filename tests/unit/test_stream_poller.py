"""The local event source mapping: filter, batches, partial failures, bisect, retries, dead letters."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

import events_processor_handler
from local.stream_poller import BatchDelivery, StreamMapping, StreamPoller, pattern_matches, stream_mappings
from tests.support import FakeLambdaContext
from tests.unit.events_support import (
    deliver,
    event_bus_tap,
    presence,
    smartregion_registration,
    stored_event,
    stream_record,
)

# boto3 now addresses DynamoDB Streams per account (<account>.streams-ddb...); moto answers the classic host
STREAMS_ENDPOINT = "https://streams.dynamodb.eu-west-1.amazonaws.com"


def mapping(**overrides: Any) -> StreamMapping:
    (configured,) = stream_mappings()
    return StreamMapping(**{**configured.__dict__, **overrides})


def records(count: int) -> list[dict[str, Any]]:
    return [
        stream_record({"pk": {"S": f"EVENT#x#{n}"}, "sk": {"S": "EVENT"}, "entity": {"S": "event"}})
        for n in range(count)
    ]


def seq(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


class Handler:
    """Fails the records whose sequence numbers are poisoned, the way the processor reports them."""

    def __init__(self, poisoned: set[str], *, crash: bool = False) -> None:
        self.poisoned = poisoned
        self.crash = crash
        self.batches: list[list[str]] = []

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        numbers = [seq(r) for r in event["Records"]]
        self.batches.append(numbers)
        failed = [n for n in numbers if n in self.poisoned]
        if failed and self.crash:
            raise RuntimeError("poison")
        return {"batchItemFailures": [{"itemIdentifier": n} for n in failed]}


def delivery(handler: Callable[[dict[str, Any]], Any], dlq: list[dict[str, Any]], **overrides: Any) -> BatchDelivery:
    return BatchDelivery(
        mapping(**overrides),
        handler,
        dlq.append,
        function_arn="arn:aws:lambda:eu-west-1:123456789012:function:EventsProcessorFunction",
        stream_arn="arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/1",
        clock=lambda: 1795773600.0,
    )


def test_the_template_configures_the_mapping_lambda_gets() -> None:
    configured = mapping()

    assert configured.function == "EventsProcessorFunction"
    assert configured.report_batch_item_failures is True
    assert configured.bisect_on_error is True
    assert configured.maximum_retry_attempts >= 1
    assert configured.on_failure == "EventsDeadLetterQueue"
    assert configured.starting_position == "TRIM_HORIZON"


@pytest.mark.parametrize(
    ("record", "selected"),
    [
        ({"eventName": "INSERT", "dynamodb": {"NewImage": {"entity": {"S": "event"}}}}, True),
        ({"eventName": "MODIFY", "dynamodb": {"NewImage": {"entity": {"S": "event"}}}}, False),
        ({"eventName": "INSERT", "dynamodb": {"NewImage": {"entity": {"S": "registration"}}}}, False),
        ({"eventName": "INSERT", "dynamodb": {"NewImage": {"pk": {"S": "REG#1"}}}}, False),
        ({"eventName": "REMOVE", "dynamodb": {"Keys": {}}}, False),
    ],
)
def test_the_filter_selects_inserts_of_event_items_only(record: dict[str, Any], selected: bool) -> None:
    assert any(pattern_matches(p, record) for p in mapping().filters) is selected


def test_pattern_rules_beyond_equality() -> None:
    assert pattern_matches({"a": [{"prefix": "ev"}]}, {"a": "event"})
    assert pattern_matches({"a": [{"exists": False}]}, {"b": 1})
    assert pattern_matches({"a": [{"anything-but": ["x"]}]}, {"a": "y"})
    assert not pattern_matches({"a": [{"anything-but": ["x"]}]}, {"a": "x"})
    assert pattern_matches({"n": [{"numeric": [">", 1, "<=", 5]}]}, {"n": 5})


def test_a_successful_batch_is_invoked_once() -> None:
    handler, dlq = Handler(set()), []
    batch = records(4)

    delivery(handler, dlq).deliver("shard-1", batch)

    assert handler.batches == [[seq(r) for r in batch]]
    assert dlq == []


def test_a_reported_failure_resumes_from_it_then_goes_to_the_dlq_without_blocking_the_rest() -> None:
    batch = records(4)
    handler, dlq = Handler({seq(batch[1])}), []

    result = delivery(handler, dlq, maximum_retry_attempts=2)
    result.deliver("shard-1", batch)

    everything = [seq(r) for r in batch]
    # first the whole batch, then (bisected at the reported record) the rest of it, twice more
    assert handler.batches == [everything, everything[1:], everything[1:]]
    (message,) = dlq
    info = message["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == everything[1]
    assert info["endSequenceNumber"] == everything[-1]
    assert info["batchSize"] == 3
    assert info["shardId"] == "shard-1"
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 3
    assert "functionError" not in message["responseContext"]
    # the records after the poison were handed to the function every time: they are processed
    assert all(everything[3] in b for b in handler.batches)


def test_a_function_error_bisects_until_the_poison_record_is_alone() -> None:
    batch = records(8)
    handler, dlq = Handler({seq(batch[5])}, crash=True), []

    delivery(handler, dlq, maximum_retry_attempts=5).deliver("shard-1", batch)

    (message,) = dlq
    assert message["DDBStreamBatchInfo"]["batchSize"] == 1
    assert message["DDBStreamBatchInfo"]["startSequenceNumber"] == seq(batch[5])
    assert message["responseContext"]["functionError"] == "Unhandled"
    succeeded = {n for b in handler.batches if seq(batch[5]) not in b for n in b}
    assert succeeded == {seq(r) for i, r in enumerate(batch) if i != 5}


@pytest.mark.parametrize(
    "answer",
    [
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"itemIdentifier": "not-in-the-batch"}]},
        {"batchItemFailures": [{"wrongKey": "x"}]},
        {"batchItemFailures": "nonsense"},
    ],
)
def test_an_unreadable_partial_response_fails_the_whole_batch(answer: dict[str, Any]) -> None:
    dlq: list[dict[str, Any]] = []
    calls: list[int] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        calls.append(len(event["Records"]))
        return answer

    delivery(handler, dlq, maximum_retry_attempts=0, bisect_on_error=False).deliver("s", records(3))

    assert calls == [3]
    assert dlq[0]["DDBStreamBatchInfo"]["batchSize"] == 3


def test_records_older_than_the_maximum_age_are_skipped_to_the_dlq() -> None:
    batch = records(2)
    batch[0]["dynamodb"]["ApproximateCreationDateTime"] = 1795773600.0 - 100_000
    handler, dlq = Handler(set()), []

    delivery(handler, dlq, maximum_record_age_seconds=3600).deliver("s", batch)

    assert handler.batches == [[seq(batch[1])]]
    assert dlq[0]["requestContext"]["condition"] == "RecordAgeExceeded"


def test_the_poller_feeds_the_processor_from_the_tables_stream(providers, context, monkeypatch) -> None:
    """moto's stream, the real processor: of the registration's writes only its creation passes the
    filter (late references), the poison is dead-lettered after its retries, the good event is
    applied and published."""
    published = event_bus_tap(monkeypatch)
    sqs = boto3.client("sqs")
    dlq_url = sqs.create_queue(QueueName="EventsDeadLetterQueue")["QueueUrl"]
    table = boto3.client("dynamodb").describe_table(TableName="chatbridge-test")["Table"]
    registration = smartregion_registration()
    poison = stream_record({"pk": {"S": "EVENT#biway#broken"}, "sk": {"S": "EVENT"}, "entity": {"S": "event"}})
    boto3.client("dynamodb").put_item(TableName="chatbridge-test", Item=poison["dynamodb"]["NewImage"])
    good = deliver("smartregion", presence("tg-100500", "connection", "2026-11-27T10:00:00Z"))
    invoked: list[list[str]] = []

    def handler(event: dict[str, Any], lambda_context: Any) -> Any:
        invoked.append([r["dynamodb"]["Keys"]["sk"]["S"] for r in event["Records"]])
        return events_processor_handler.lambda_handler(event, lambda_context)

    poller = StreamPoller(
        mapping(),
        handler,
        streams_client=boto3.client("dynamodbstreams", endpoint_url=STREAMS_ENDPOINT),
        stream_arn=table["LatestStreamArn"],
        context_factory=FakeLambdaContext,
        send_to_dlq=lambda message: sqs.send_message(QueueUrl=dlq_url, MessageBody=json.dumps(message)),
        function_arn="arn:aws:lambda:eu-west-1:123456789012:function:EventsProcessorFunction",
    )
    poller.start()  # not the thread: the test drives the cycles
    poller.stop()

    poller.poll_once()

    assert invoked[0].count("EVENT") == 2 and set(invoked[0]) == {"REG", "EVENT"}  # no MODIFY, no pointer
    assert poller.delivery.stats.filtered_out >= 1
    assert stored_event(good)["status"]["S"] == "processed"
    assert registration.id in [r["S"] for r in stored_event(good)["registration_ids"]["L"]]
    assert [e["detail-type"] for e in published()] == ["smartregion.user.connected"]
    (letter,) = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
    info = json.loads(letter["Body"])["DDBStreamBatchInfo"]
    assert info["batchSize"] == 2  # the poison and what followed it in the batch
    assert info["streamArn"] == table["LatestStreamArn"]
