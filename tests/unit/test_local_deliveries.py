"""The local stack's half of the delivery path: the SQS event source emulation and the sample bot."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from chatbridge.webhooks import signing
from local.bot_receiver import BotReceiver
from local.sqs_poller import QueueMapping, SqsPoller, queue_attributes, queue_mappings


def test_the_template_s_sqs_events_are_the_mappings() -> None:
    mappings = {(m.function, m.queue) for m in queue_mappings()}

    assert mappings == {
        ("WebhookDeliveryFunction", "WebhookEventsQueue"),
        ("WebhookDeliveryFunction", "WebhookDeliveriesQueue"),
    }
    assert all(m.report_batch_item_failures and m.batch_size == 10 for m in queue_mappings())


def test_queue_attributes_come_from_the_template() -> None:
    attributes = queue_attributes("WebhookDeliveriesQueue", lambda name: f"arn:aws:sqs:eu-west-1:1:{name}")

    assert attributes["VisibilityTimeout"] == "360"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": "arn:aws:sqs:eu-west-1:1:WebhookDeadLetterQueue",
        "maxReceiveCount": 20,
    }


def poller(handler: Any) -> tuple[SqsPoller, Any, str]:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    mapping = QueueMapping("F", "q", batch_size=10, report_batch_item_failures=True)
    return (
        SqsPoller(
            mapping,
            handler,
            sqs=sqs,
            queue_url=url,
            queue_arn="arn:aws:sqs:eu-west-1:123456789012:q",
            region="eu-west-1",
            context_factory=lambda: None,
        ),
        sqs,
        url,
    )


def left(sqs: Any, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    return sum(int(v) for v in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"].values())


def test_reported_failures_stay_in_the_queue_and_the_rest_is_deleted(aws) -> None:
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.extend(event["Records"])
        failed = [r["messageId"] for r in event["Records"] if json.loads(r["body"])["n"] == 1]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}

    sqs_poller, sqs, url = poller(handler)
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}))

    assert sqs_poller.poll_once() == 3
    assert left(sqs, url) == 1
    assert {r["eventSource"] for r in seen} == {"aws:sqs"} and all(r["receiptHandle"] for r in seen)


@pytest.mark.parametrize(
    "answer",
    [RuntimeError("crash"), {"batchItemFailures": [{"itemIdentifier": "not-a-message"}]}, {"batchItemFailures": 3}],
)
def test_an_exception_or_an_unreadable_answer_leaves_the_whole_batch(aws, answer: Any) -> None:
    def handler(event: dict[str, Any], context: Any) -> Any:
        if isinstance(answer, Exception):
            raise answer
        return answer

    sqs_poller, sqs, url = poller(handler)
    for n in range(2):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}))

    sqs_poller.poll_once()

    assert left(sqs, url) == 2
    assert sqs_poller.stats.errors == 1 and sqs_poller.stats.deleted == 0


def signed(secret: str, body: dict[str, Any], webhook_id: str = "msg_1") -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    return raw, signing.headers(webhook_id, int(time.time()), raw, [secret])


def test_the_sample_bot_verifies_fails_a_first_attempt_on_request_and_refuses_bad_signatures() -> None:
    secret = signing.new_secret()
    bot = BotReceiver()
    bot.add_secret(secret)
    bot.fail_first_attempt(lambda payload: payload["type"] == "a.b.read")
    read = {"type": "a.b.read", "timestamp": "2026-11-27T10:00:05Z", "data": {"id": "e1"}}

    first = bot.receive(*signed(secret, read))
    second = bot.receive(*signed(secret, read))
    other = bot.receive(*signed(secret, {**read, "type": "a.b.sent"}, "msg_2"))
    forged = bot.receive(*signed(signing.new_secret(), read, "msg_3"))

    assert (first, second, other, forged) == (503, 200, 200, 401)
    assert [(d.attempt, d.verified) for d in bot.deliveries] == [(1, True), (2, True), (1, True), (1, False)]
    assert bot.deliveries[0].event_id == "e1"
