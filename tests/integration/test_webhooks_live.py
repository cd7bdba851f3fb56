"""Webhooks to bots over real sockets: provider callback -> DynamoDB Local's stream -> events processor
-> EventBridge (moto) -> rule -> SQS -> delivery function -> a bot on 127.0.0.1 verifying with the
`standardwebhooks` package. The local schedule is compressed (0, 1, 2, 4... s)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from chatbridge.logic.deliveries import delivery_id_for
from local.bot_receiver import BotReceiver, Delivery
from local.deliveries import queue_url
from local.stack import LocalStack
from tests.conftest import reset_caches

SECONDS = 30.0


def wait_for(check: Any, timeout: float = SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)
    return result


def registered_user(api: httpx.Client) -> dict[str, Any]:
    created = api.post(
        "/v1/registrations", json={"provider": "smartregion", "user_id": f"tg-{uuid.uuid4().hex[:10]}", "payload": "P"}
    )
    assert created.status_code == 201, created.text
    resource: dict[str, Any] = created.json()
    return resource


def event_of(api: httpx.Client, registration_id: str) -> dict[str, Any]:
    items = api.get("/v1/events", params={"registration_id": registration_id}).json()["items"]
    (event,) = items
    found: dict[str, Any] = event
    return found


@pytest.fixture
def bot(api: httpx.Client) -> Iterator[tuple[BotReceiver, str]]:
    """A bot of the test's own, subscribed to SmartRegion presence only."""
    receiver = BotReceiver().start()
    created = api.post(
        "/v1/webhooks", json={"url": receiver.url, "event_types": ["smartregion.user.*"], "description": "test bot"}
    )
    assert created.status_code == 201, created.text
    receiver.add_secret(created.json()["secret"])
    yield receiver, created.json()["id"]
    api.delete(f"/v1/webhooks/{created.json()['id']}")
    receiver.stop()


def about(user_id: str) -> Any:
    return lambda deliveries: [d for d in deliveries if d.data.get("subject_ref") == user_id]


def arrived(receiver: BotReceiver, user_id: str, count: int) -> list[Delivery]:
    found = about(user_id)
    return found(receiver.wait_for(lambda ds: len(found(ds)) >= count, SECONDS))


def test_a_callback_reaches_the_subscribed_bots_signed_once(api: httpx.Client, stack: LocalStack, bot) -> None:
    receiver, webhook_id = bot
    registration = registered_user(api)

    assert stack.simulator.report_presence(registration["user_id"], "connection") == 200

    (delivery,) = arrived(receiver, registration["user_id"], 1)
    assert delivery.verified and delivery.type == "smartregion.user.connected"
    assert delivery.data["registration_ids"] == [registration["id"]]
    event = event_of(api, registration["id"])
    assert delivery.event_id == event["id"]
    assert delivery.webhook_id == delivery_id_for(event["id"], webhook_id)
    assert stack.webhooks is not None
    (sample,) = arrived(stack.webhooks.bot, registration["user_id"], 1)  # the sample bot takes `*`
    assert sample.verified and sample.webhook_id != delivery.webhook_id
    # settled after one attempt: nothing more is scheduled, so the bot gets it once
    log = api.get(f"/v1/webhooks/{webhook_id}/deliveries").json()["items"]
    (attempt,) = [a for a in log if a["delivery_id"] == delivery.webhook_id]
    assert (attempt["attempt"], attempt["status"], attempt["next_attempt_at"]) == (1, "succeeded", None)
    assert len(about(registration["user_id"])(receiver.deliveries)) == 1


def test_a_failed_attempt_is_retried_and_logged(api: httpx.Client, stack: LocalStack, bot) -> None:
    receiver, webhook_id = bot
    receiver.fail_first_attempt(lambda payload: True)
    registration = registered_user(api)

    stack.simulator.report_presence(registration["user_id"], "detection")

    first, second = arrived(receiver, registration["user_id"], 2)
    assert (first.answered, second.answered) == (503, 200)
    assert first.webhook_id == second.webhook_id and first.verified and second.verified
    assert 0.9 <= second.received_at - first.received_at < 10  # the local schedule's 1 s
    log = api.get(f"/v1/webhooks/{webhook_id}/deliveries").json()["items"]
    mine = [a for a in log if a["delivery_id"] == first.webhook_id]
    assert [(a["attempt"], a["status"], a["response_status"]) for a in mine] == [
        (2, "succeeded", 200),
        (1, "failed", 503),
    ]


def test_replay_sends_the_event_again_with_its_webhook_id(api: httpx.Client, stack: LocalStack, bot) -> None:
    receiver, webhook_id = bot
    registration = registered_user(api)
    stack.simulator.report_presence(registration["user_id"], "connection")
    (first,) = arrived(receiver, registration["user_id"], 1)

    replay = api.post(f"/v1/events/{first.event_id}/replay", json={"webhook": webhook_id})

    assert replay.status_code == 202, replay.text
    _, again = arrived(receiver, registration["user_id"], 2)
    assert again.webhook_id == first.webhook_id and again.verified


def test_failed_deliveries_are_recovered(
    api: httpx.Client, stack: LocalStack, bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", "0,1")  # two attempts, then failed
    reset_caches()
    receiver, webhook_id = bot
    down = [True]
    answer = receiver.receive
    monkeypatch.setattr(receiver, "receive", lambda body, headers: 503 if down[0] else answer(body, headers))
    registration = registered_user(api)
    stack.simulator.report_presence(registration["user_id"], "connection")

    def attempts() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = api.get(f"/v1/webhooks/{webhook_id}/deliveries").json()["items"]
        return items

    log = wait_for(lambda: (found := attempts()) and len(found) == 2 and found)
    assert [(a["attempt"], a["status"]) for a in log] == [(2, "failed"), (1, "failed")]
    assert log[0]["next_attempt_at"] is None and log[1]["next_attempt_at"]  # the schedule is over

    down[0] = False
    recovered = api.post(f"/v1/webhooks/{webhook_id}/recover", json={"since": registration["created_at"]})

    assert recovered.status_code == 202, recovered.text
    assert len(recovered.json()["recovered"]) == 1
    (delivery,) = arrived(receiver, registration["user_id"], 1)
    assert delivery.verified and delivery.webhook_id == log[0]["delivery_id"]


def test_a_batch_the_processor_gave_up_on_is_redriven(
    api: httpx.Client, stack: LocalStack, bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chatbridge.logic import events

    assert stack.events is not None
    stack.events.wait_until_processed()
    stack.events.dead_letters()
    receiver, _ = bot
    registration = registered_user(api)
    working = events.process_event

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the processor is broken for a while")

    monkeypatch.setattr(events, "process_event", broken)
    stack.simulator.report_presence(registration["user_id"], "connection")
    (letter,) = stack.events.dead_letters(wait_seconds=20)  # read (and so taken) from the queue
    assert set(letter["DDBStreamBatchInfo"]) >= {"shardId", "startSequenceNumber", "endSequenceNumber"}
    monkeypatch.setattr(events, "process_event", working)
    # put it back as Lambda left it, for the redrive to find
    boto3.client("sqs").send_message(
        QueueUrl=queue_url(stack.secrets_endpoint, "EventsDeadLetterQueue"), MessageBody=json.dumps(letter)
    )

    report = api.post("/v1/admin/events/redrive")

    assert report.status_code == 200, report.text
    assert report.json()["reapplied"] >= 1 and report.json()["kept"] == 0, report.json()
    presence = api.get(f"/v1/registrations/{registration['id']}").json()["presence"]
    assert presence["state"] == "connected"
    (delivery,) = arrived(receiver, registration["user_id"], 1)
    assert delivery.verified
