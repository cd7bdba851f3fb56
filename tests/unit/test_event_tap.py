"""What the long-running local stack keeps: the event tap drained into a bounded memory, bounded logs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chatbridge.webhooks import signing
from local.bot_receiver import BotReceiver
from local.events_pipeline import EventTap
from local.retention import keep_recent


@pytest.fixture
def tap_queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        sqs = boto3.client("sqs")
        yield sqs, sqs.create_queue(QueueName="tap")["QueueUrl"]


def publish(sqs: Any, url: str, numbers: range) -> None:
    for n in numbers:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"detail-type": "t", "detail": {"n": n}}))


def numbers(events: list[dict[str, Any]]) -> list[int]:
    return [event["detail"]["n"] for event in events]


def test_the_tap_returns_each_event_once_in_the_order_published(tap_queue) -> None:
    sqs, url = tap_queue
    tap = EventTap(sqs, url)
    publish(sqs, url, range(3))

    tap.drain()
    first = tap.unread()
    publish(sqs, url, range(3, 5))
    tap.drain()

    assert numbers(first) == [0, 1, 2]
    assert numbers(tap.unread()) == [3, 4]
    assert tap.unread() == []


def test_the_tap_empties_its_queue_and_keeps_only_the_recent_events(tap_queue) -> None:
    sqs, url = tap_queue
    tap = EventTap(sqs, url, keeps=5)
    publish(sqs, url, range(23))

    moved = tap.drain()

    assert (moved, tap.received, tap.queued(), tap.kept()) == (23, 23, 0, 5)
    assert numbers(tap.unread()) == [18, 19, 20, 21, 22]


def test_the_reader_drains_the_queue_while_nobody_reads(tap_queue) -> None:
    sqs, url = tap_queue
    tap = EventTap(sqs, url, keeps=4).start()
    try:
        publish(sqs, url, range(10))
        deadline = time.monotonic() + 10
        while tap.received < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        tap.stop()

    assert (tap.received, tap.queued(), tap.kept()) == (10, 0, 4)
    assert numbers(tap.unread()) == [6, 7, 8, 9]


def test_keep_recent_drops_the_oldest_once_twice_the_limit_and_stays_a_list() -> None:
    records = list(range(7))
    keep_recent(records, 4)
    assert records == list(range(7))

    records.append(7)
    keep_recent(records, 4)

    assert records == [4, 5, 6, 7]
    assert isinstance(records, list)


def test_the_sample_bot_keeps_a_bounded_log_and_still_counts_attempts() -> None:
    secret = signing.new_secret()
    bot = BotReceiver(keeps=3)
    bot.add_secret(secret)

    def deliver(webhook_id: str) -> None:
        raw = json.dumps({"type": "a.b", "timestamp": "2026-11-27T10:00:05Z", "data": {"id": webhook_id}}).encode()
        bot.receive(raw, signing.headers(webhook_id, int(time.time()), raw, [secret]))

    for n in range(20):
        deliver(f"msg_{n}")
    deliver("msg_19")  # a retry of the latest delivery
    deliver("msg_0")  # long forgotten: counted afresh

    assert len(bot.deliveries) < 6
    assert [(d.webhook_id, d.attempt) for d in bot.deliveries[-2:]] == [("msg_19", 2), ("msg_0", 1)]
