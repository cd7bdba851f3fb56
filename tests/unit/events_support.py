"""Helpers of the events tests: an event bus with a tap queue, deliveries, stream records, subjects."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

import events_processor_handler
from chatbridge.clock import derived_id
from chatbridge.logic.callbacks import receive_callback
from chatbridge.store import get_store
from chatbridge.store.base import get_message_store
from chatbridge.store.items import EventItem, MessageItem, RegistrationItem
from tests.unit.conftest import CALLBACK_TOKENS

BUS = "chatbridge-test-events"
TABLE = "chatbridge-test"
_sequence = itertools.count(100)


def event_bus_tap(monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[dict[str, Any]]]:
    """An event bus (EVENT_BUS_NAME) with a rule copying everything to a queue; a reader of that queue."""
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    return bus_tap(BUS)


def bus_tap(bus: str) -> Callable[[], list[dict[str, Any]]]:
    """A rule on `bus` copying everything to a queue (in the mocked account); a reader of that queue."""
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name=bus)
    queue = sqs.create_queue(QueueName="tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName=bus, EventPattern=json.dumps({"source": ["chatbridge"]}))
    events.put_targets(Rule="all", EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])

    def read() -> list[dict[str, Any]]:
        found = []
        while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return found

    return read


def deliver(provider: str, body: dict[str, Any]) -> dict[str, Any]:
    """What the callbacks function stores; the stream record of that item."""
    raw = json.dumps(body).encode()
    receive_callback(provider, CALLBACK_TOKENS[provider], raw)
    dedupe_key = f"event_id:{body['event_id']}" if body.get("event_id") else f"sha256:{hashlib.sha256(raw).hexdigest()}"
    key = EventItem.key(provider, dedupe_key)
    item = boto3.client("dynamodb").get_item(TableName=TABLE, Key={k: {"S": v} for k, v in key.items()})["Item"]
    return stream_record(item)


def stream_record(image: dict[str, Any]) -> dict[str, Any]:
    return {
        "eventID": f"id-{next(_sequence)}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1795773600,
            "Keys": {"pk": image["pk"], "sk": image["sk"]},
            "NewImage": image,
            "SequenceNumber": f"{next(_sequence):024d}",
            "SizeBytes": 500,
            "StreamViewType": "NEW_IMAGE",
        },
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/chatbridge-test/stream/2026",
    }


def process(context: Any, *records: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = events_processor_handler.lambda_handler({"Records": list(records)}, context)
    return answer


def stored_event(record: dict[str, Any]) -> dict[str, Any]:
    key = record["dynamodb"]["Keys"]
    return boto3.client("dynamodb").get_item(TableName=TABLE, Key=key)["Item"]


def smartregion_registration(user_id: str = "tg-100500", channel_id: str = "chan-1") -> RegistrationItem:
    now = datetime.now(UTC)
    item = RegistrationItem(
        id=derived_id("smartregion", "proj-1", channel_id, user_id),
        provider="smartregion",
        connection="default",
        status="registered",
        user_id=user_id,
        details={"channel_id": channel_id, "project_id": "proj-1", "payload": "P"},
        created_at=now,
        updated_at=now,
    )
    return get_store().save_registration(item)


def biway_account(provider_ref: str = "acc-2231") -> RegistrationItem:
    now = datetime.now(UTC)
    item = RegistrationItem(
        id=derived_id("biway", "account", provider_ref),
        provider="biway",
        connection="default",
        status="pending_verification",
        user_id="partner-42",
        provider_ref=provider_ref,
        created_at=now,
        updated_at=now,
    )
    return get_store().save_registration(item)


def biway_message(provider_ref: str = "msg-8841") -> MessageItem:
    now = datetime.now(UTC)
    item = MessageItem(
        id=f"msg-id-{provider_ref}",
        provider="biway",
        connection="default",
        kind="submit",
        status="accepted",
        provider_ref=provider_ref,
        recipients=1,
        recipient="+33670000000",
        created_at=now,
        updated_at=now,
    )
    return get_message_store().create_message(item)


def presence(user_id: str, event: str, time: str, channel_id: str | None = "chan-1") -> dict[str, Any]:
    body = {"event": event, "user_id": user_id, "project_id": "proj-1", "time": time}
    return {**body, "channel_id": channel_id} if channel_id else body


def report(resource_id: str, state: str, at: str, event: str = "MESSENGER_REPORT", **extra: Any) -> dict[str, Any]:
    return {
        "event_id": f"{event}-{resource_id}-{state}-{at}",
        "event": event,
        "resource_id": resource_id,
        "state": state,
        "occurred_at": at,
        **extra,
    }
