"""Deliveries to bots: fan-out, Standard Webhooks signatures (verified with `standardwebhooks`), the
retry schedule, the attempt log, replay, recovery, and the rules that disable a subscription.

The clock is injected: the schedule, the five-day rule and the attempt times are checked relative to
a start instant, never to a date. Signatures are verified at the real time (`standardwebhooks` checks
the timestamp against its own clock), so those tests leave the clock at now.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
import httpx
import pytest

import webhook_delivery_handler
from chatbridge.logic import webhooks as logic
from chatbridge.logic.deliveries import DISABLED_EVENT_TYPE, delivery_id_for
from chatbridge.settings import DEFAULT_RETRY_SCHEDULE
from chatbridge.store.base import get_webhook_store
from chatbridge.webhooks.queue import SqsTaskQueue
from chatbridge.webhooks.sender import sender_pool
from tests.support import body_of
from tests.unit.webhooks_support import (
    Bot,
    Clock,
    RecordingPublisher,
    RecordingQueue,
    bus_event,
    call,
    deliverer,
    sqs_record,
    subscribe,
)


def statuses(*answers: int | BaseException) -> Any:
    """A bot answering these, in order, then 200."""

    def answer(seen: list[Any], _request: httpx.Request) -> int | BaseException:
        return answers[len(seen)] if len(seen) < len(answers) else 200

    return answer


@dataclass
class Retrying:
    """A subscription whose first attempt of `ev-1` failed: its retry task is queued."""

    webhook: dict[str, Any]
    bot: Bot
    clock: Clock
    queue: RecordingQueue
    work: Any
    delivery_id: str
    task_id: str


def first_attempt_failed(context: Any, *answers: int | BaseException) -> Retrying:
    webhook, secret = subscribe(context)
    bot = Bot(secrets=[secret], answer=statuses(*(answers or (503,))))
    clock, queue = Clock(), RecordingQueue()
    work = deliverer(bot, clock, queue)
    work.fan_out(bus_event(event_id="ev-1"))
    ((delivery_id, task_id, _),) = queue.sent
    return Retrying(webhook, bot, clock, queue, work, delivery_id, task_id)


def attempts(webhook_id: str) -> list[dict[str, Any]]:
    return [a.model_dump(mode="json") for a in logic.list_attempts(webhook_id, 100, None).items]


# -- fan-out and signatures ------------------------------------------------------------------------


def test_an_event_reaches_every_matching_subscription_once_signed(aws, context) -> None:
    everything, secret = subscribe(context, event_types=["*"])
    messages, message_secret = subscribe(context, url="https://bot2.example.com/in", event_types=["biway.message.*"])
    subscribe(context, event_types=["smartregion.*"])
    disabled, _ = subscribe(context, event_types=["*"])
    call("PATCH", f"/v1/webhooks/{disabled['id']}", context, route="/v1/webhooks/{id}", body={"enabled": False})
    bot = Bot(secrets=[secret, message_secret])

    deliverer(bot, Clock(), RecordingQueue()).fan_out(bus_event("biway.message.read", "ev-1", message_id="m-1"))

    assert sorted(r.headers["webhook-id"] for r in bot.received) == sorted(
        delivery_id_for("ev-1", w["id"]) for w in (everything, messages)
    )
    for received in bot.received:
        assert received.payload is not None, "standardwebhooks refused our signature"
        assert received.payload["type"] == "biway.message.read"
        assert received.payload["data"] == {"id": "ev-1", "provider": "biway", "state": "read", "message_id": "m-1"}
        assert received.payload["timestamp"] == "2026-11-27T10:00:05Z"
        assert received.headers["content-type"] == "application/json"
    (logged,) = attempts(everything["id"])
    assert logged["status"] == "succeeded" and logged["response_status"] == 200 and logged["attempt"] == 1
    assert logged["trigger"] == "event" and logged["next_attempt_at"] is None and logged["latency_ms"] >= 0
    assert logged["response_body"] == "ok"


def test_a_repeated_fan_out_sends_nothing_twice(aws, context) -> None:
    _, secret = subscribe(context)
    bot = Bot(secrets=[secret])
    work = deliverer(bot, Clock(), RecordingQueue())

    work.fan_out(bus_event(event_id="ev-1"))
    work.fan_out(bus_event(event_id="ev-1"))  # the queue message came back

    assert len(bot.received) == 1


# -- the schedule ----------------------------------------------------------------------------------


def test_a_failing_endpoint_is_retried_on_the_schedule_with_one_webhook_id(aws, context) -> None:
    webhook, secret = subscribe(context)
    bot = Bot(secrets=[secret], answer=statuses(503, 500))
    clock, queue = Clock(), RecordingQueue()
    work = deliverer(bot, clock, queue)
    start = clock.now

    work.fan_out(bus_event(event_id="ev-1"))
    ((delivery_id, task_id, delay),) = queue.sent
    early = work.run_task(delivery_id, task_id)  # SQS handed it back too soon: held, not sent
    clock.advance(5)
    second = work.run_task(delivery_id, task_id)
    clock.advance(300)
    third = work.run_task(delivery_id, task_id)

    assert delay == 5 and early.retry_in == 5 and second.retry_in == 300 and third.retry_in is None
    assert [r.status for r in bot.received] == [503, 500, 200]
    assert set(bot.ids()) == {delivery_id_for("ev-1", webhook["id"])}
    assert [r.headers["webhook-timestamp"] for r in bot.received] == [
        str(int((start + timedelta(seconds=s)).timestamp())) for s in (0, 5, 305)
    ]
    log = attempts(webhook["id"])
    assert [(a["attempt"], a["status"], a["response_status"], a["trigger"]) for a in log] == [
        (3, "succeeded", 200, "retry"),
        (2, "failed", 500, "retry"),
        (1, "failed", 503, "event"),
    ]
    assert log[1]["next_attempt_at"] == (start + timedelta(seconds=305)).isoformat().replace("+00:00", "Z")
    assert log[2]["response_body"] == "bot says 503"
    delivery = get_webhook_store().get_delivery(delivery_id)
    assert delivery is not None and delivery.status == "succeeded" and delivery.attempts == 3


def test_after_the_last_attempt_of_the_schedule_the_delivery_is_failed(aws, context) -> None:
    webhook, secret = subscribe(context)
    bot = Bot(secrets=[secret], answer=lambda _seen, _request: 500)
    clock, queue = Clock(), RecordingQueue()
    work = deliverer(bot, clock, queue)

    work.fan_out(bus_event(event_id="ev-1"))
    ((delivery_id, task_id, first_delay),) = queue.sent
    waits = [first_delay]
    while (outcome := work.run_task(delivery_id, task_id)).retry_in is not None:
        if outcome.retry_in and len(bot.received) == len(waits):  # held until due
            clock.advance(outcome.retry_in)
            continue
        waits.append(outcome.retry_in)

    assert waits == list(DEFAULT_RETRY_SCHEDULE[1:])
    assert len(bot.received) == len(DEFAULT_RETRY_SCHEDULE) == 8
    delivery = get_webhook_store().get_delivery(delivery_id)
    assert delivery is not None and delivery.status == "failed" and delivery.next_attempt_at is None
    failed, _ = get_webhook_store().failed_deliveries(webhook["id"], delivery.created_at, 10, None)
    assert [d.id for d in failed] == [delivery_id]
    assert work.run_task(delivery_id, task_id).retry_in is None and len(bot.received) == 8


@pytest.mark.parametrize(
    "failure",
    [429, 500, 502, 503, 504, 400, 401, 404, 301, httpx.ReadTimeout("slow bot"), httpx.ConnectError("refused")],
    ids=str,
)
def test_throttling_server_errors_other_4xx_redirects_and_timeouts_are_retried(aws, context, failure) -> None:
    webhook, secret = subscribe(context)
    queue = RecordingQueue()

    deliverer(Bot(secrets=[secret], answer=statuses(failure)), Clock(), queue).fan_out(bus_event())

    assert [delay for _, _, delay in queue.sent] == [5]
    (logged,) = attempts(webhook["id"])
    assert logged["status"] == "failed"
    if isinstance(failure, int):
        assert logged["response_status"] == failure
    else:
        assert logged["response_status"] is None and logged["error"]
    assert body_of(call("GET", f"/v1/webhooks/{webhook['id']}", context, route="/v1/webhooks/{id}"))["enabled"]


def test_a_410_disables_the_subscription_at_once_and_says_so(aws, context) -> None:
    webhook, secret = subscribe(context)
    queue, publisher = RecordingQueue(), RecordingPublisher()
    clock = Clock()
    work = deliverer(Bot(secrets=[secret], answer=statuses(410)), clock, queue, publisher)

    work.fan_out(bus_event(event_id="ev-1"))
    work.fan_out(bus_event(event_id="ev-2"))

    assert queue.sent == []
    current = logic.get_webhook(webhook["id"])
    assert current.enabled is False and current.disabled_reason == "gone"
    ((detail_type, notice),) = publisher.notices
    assert detail_type == DISABLED_EVENT_TYPE
    assert notice["webhook_id"] == webhook["id"] and notice["reason"] == "gone"
    assert len(attempts(webhook["id"])) == 1  # nothing is sent to a disabled subscription


# -- five days of failures -------------------------------------------------------------------------


def _fail_once_at(work: Any, clock: Clock, at: timedelta, start: Any, event_id: str) -> None:
    clock.now = start + at
    work.fan_out(bus_event(event_id=event_id))


def test_an_endpoint_failing_for_five_days_straight_is_disabled_and_an_event_says_so(aws, context) -> None:
    webhook, secret = subscribe(context)
    clock, publisher = Clock(), RecordingPublisher()
    start = clock.now
    work = deliverer(Bot(secrets=[secret], answer=lambda _s, _r: 503), clock, RecordingQueue(), publisher)

    _fail_once_at(work, clock, timedelta(0), start, "ev-1")
    _fail_once_at(work, clock, timedelta(days=4, hours=23, minutes=59), start, "ev-2")
    still_enabled = logic.get_webhook(webhook["id"])
    _fail_once_at(work, clock, timedelta(days=5), start, "ev-3")

    assert still_enabled.enabled is True and still_enabled.failing_since == start
    current = logic.get_webhook(webhook["id"])
    assert current.enabled is False and current.disabled_reason == "failing"
    assert current.disabled_at == start + timedelta(days=5)
    ((detail_type, notice),) = publisher.notices
    assert detail_type == DISABLED_EVENT_TYPE and notice["reason"] == "failing"
    assert notice["failing_since"] == start.isoformat().replace("+00:00", "Z")


def test_a_success_ends_the_failing_period(aws, context) -> None:
    webhook, secret = subscribe(context)
    clock = Clock()
    start = clock.now
    answers = iter([503, 200, 503])
    work = deliverer(Bot(secrets=[secret], answer=lambda _s, _r: next(answers)), clock, RecordingQueue())

    _fail_once_at(work, clock, timedelta(0), start, "ev-1")
    _fail_once_at(work, clock, timedelta(days=3), start, "ev-2")
    _fail_once_at(work, clock, timedelta(days=5, hours=1), start, "ev-3")

    current = logic.get_webhook(webhook["id"])
    assert current.enabled is True and current.failing_since == start + timedelta(days=5, hours=1)


def test_retries_of_a_disabled_subscription_are_abandoned_and_recovered_after_it_is_enabled(aws, context) -> None:
    retrying = first_attempt_failed(context)
    webhook, bot, clock, queue, work = retrying.webhook, retrying.bot, retrying.clock, retrying.queue, retrying.work
    delivery_id, task_id = retrying.delivery_id, retrying.task_id
    path = f"/v1/webhooks/{webhook['id']}"
    call("PATCH", path, context, route="/v1/webhooks/{id}", body={"enabled": False})
    clock.advance(5)

    abandoned = work.run_task(delivery_id, task_id)
    refused = call(
        "POST", f"{path}/recover", context, route="/v1/webhooks/{id}/recover", body={"since": "2000-01-01T00:00:00Z"}
    )
    call("PATCH", path, context, route="/v1/webhooks/{id}", body={"enabled": True})
    recovered = logic.recover(webhook["id"], clock.now - timedelta(hours=1), queue=queue, clock=clock)
    ((_, new_task, delay),) = queue.sent[1:]
    sent = work.run_task(delivery_id, new_task)

    assert abandoned.retry_in is None and refused["statusCode"] == 409
    assert [q.delivery_id for q in recovered.recovered] == [delivery_id] and delay == 0 and sent.retry_in is None
    assert bot.ids() == [delivery_id, delivery_id] and bot.received[-1].payload is not None
    assert [a["trigger"] for a in attempts(webhook["id"])] == ["recovery", "event"]


# -- replay and recovery ---------------------------------------------------------------------------


def test_replay_sends_an_event_again_with_the_same_webhook_id(aws, context) -> None:
    first, secret = subscribe(context)
    second, other_secret = subscribe(context, url="https://bot2.example.com/in", event_types=["biway.message.read"])
    bot = Bot(secrets=[secret, other_secret])
    clock, queue = Clock(), RecordingQueue()
    work = deliverer(bot, clock, queue)
    work.fan_out(bus_event(event_id="ev-1"))

    everyone = logic.replay_event("ev-1", None, queue=queue, clock=clock)
    one = logic.replay_event("ev-1", second["id"], queue=queue, clock=clock)
    for delivery_id, task_id, _ in queue.sent:
        work.run_task(delivery_id, task_id)

    assert {d.webhook_id for d in everyone.deliveries} == {first["id"], second["id"]}
    assert [d.webhook_id for d in one.deliveries] == [second["id"]]
    assert sorted(bot.ids()) == sorted(
        [delivery_id_for("ev-1", first["id"])] * 2 + [delivery_id_for("ev-1", second["id"])] * 2
    )
    assert all(r.payload is not None for r in bot.received)
    assert attempts(second["id"])[0]["trigger"] == "replay"


def test_replay_refuses_unknown_events_and_subscriptions_that_do_not_want_it(aws, context) -> None:
    _, secret = subscribe(context)
    narrow, _ = subscribe(context, event_types=["smartregion.*"])
    deliverer(Bot(secrets=[secret]), Clock(), RecordingQueue()).fan_out(bus_event(event_id="ev-1"))

    unknown = call("POST", "/v1/events/nope/replay", context, route="/v1/events/{id}/replay", body={})
    unwanted = call(
        "POST", "/v1/events/ev-1/replay", context, route="/v1/events/{id}/replay", body={"webhook": narrow["id"]}
    )
    queued = call("POST", "/v1/events/ev-1/replay", context, route="/v1/events/{id}/replay", body={})

    assert (unknown["statusCode"], unwanted["statusCode"], queued["statusCode"]) == (404, 422, 202)
    assert len(body_of(queued)["deliveries"]) == 1
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="webhook-deliveries")["QueueUrl"]
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(message["Body"])["delivery_id"] == body_of(queued)["deliveries"][0]["delivery_id"]


def test_a_replay_takes_over_a_delivery_whose_retries_are_pending(aws, context) -> None:
    retrying = first_attempt_failed(context)
    bot, clock, queue, work = retrying.bot, retrying.clock, retrying.queue, retrying.work
    delivery_id, old_task = retrying.delivery_id, retrying.task_id

    logic.replay_event("ev-1", None, queue=queue, clock=clock)
    ((_, new_task, _),) = queue.sent[1:]
    clock.advance(5)
    stale = work.run_task(delivery_id, old_task)
    replayed = work.run_task(delivery_id, new_task)

    assert stale.retry_in is None and replayed.retry_in is None
    assert len(bot.received) == 2  # the superseded retry sent nothing


def test_recover_resends_only_the_failed_deliveries_since_the_time_given(aws, context) -> None:
    webhook, secret = subscribe(context)
    bot = Bot(secrets=[secret], answer=lambda seen, _r: 500 if len(seen) < 16 else 200)
    clock, queue = Clock(), RecordingQueue()
    start = clock.now
    work = deliverer(bot, clock, queue)
    for event_id in ("ev-old", "ev-new"):
        work.fan_out(bus_event(event_id=event_id))
        delivery_id, task_id, _ = queue.sent[-1]
        while (outcome := work.run_task(delivery_id, task_id)).retry_in is not None:
            clock.advance(outcome.retry_in)
        clock.now = start + timedelta(days=2)

    outcome = logic.recover(webhook["id"], start + timedelta(days=1), queue=queue, clock=clock)
    again = logic.recover(webhook["id"], start + timedelta(days=1), queue=queue, clock=clock)
    _, task_id, _ = queue.sent[-1]
    work.run_task(outcome.recovered[0].delivery_id, task_id)

    assert [d.delivery_id for d in outcome.recovered] == [delivery_id_for("ev-new", webhook["id"])]
    assert again.recovered == []  # queued again already: no longer failed
    assert bot.received[-1].status == 200 and bot.received[-1].headers["webhook-id"] == outcome.recovered[0].delivery_id


def test_the_attempt_log_is_paged_newest_first(aws, context) -> None:
    webhook, secret = subscribe(context)
    clock = Clock()
    work = deliverer(Bot(secrets=[secret]), clock, RecordingQueue())
    for n in range(3):
        work.fan_out(bus_event(event_id=f"ev-{n}"))
        clock.advance(1)
    route = "/v1/webhooks/{id}/deliveries"
    path = f"/v1/webhooks/{webhook['id']}/deliveries"

    first = body_of(call("GET", path, context, route=route, query={"limit": "2"}))
    rest = body_of(call("GET", path, context, route=route, query={"limit": "2", "next_token": first["next_token"]}))
    unknown = call("GET", "/v1/webhooks/wh_nope/deliveries", context, route=route)

    assert [a["event_id"] for a in first["items"] + rest["items"]] == ["ev-2", "ev-1", "ev-0"]
    assert rest["next_token"] is None and unknown["statusCode"] == 404


# -- the delivery function on SQS ------------------------------------------------------------------


def test_the_function_holds_a_failed_task_message_until_the_next_attempt(aws, context, monkeypatch) -> None:
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", "0,0,120")
    _, secret = subscribe(context)
    bot = Bot(secrets=[secret], answer=lambda _s, _r: 503)
    sender_pool.reset(bot.transport())
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="webhook-deliveries")["QueueUrl"]
    fan_out = sqs_record(json.loads(json.dumps(bus_event(event_id="ev-1").model_dump(mode="json", by_alias=True))))

    first = webhook_delivery_handler.lambda_handler({"Records": [fan_out]}, context)
    (task,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    second = webhook_delivery_handler.lambda_handler(
        {"Records": [sqs_record(json.loads(task["Body"]), task["ReceiptHandle"], task["MessageId"])]}, context
    )

    assert first == {"batchItemFailures": []}
    assert second == {"batchItemFailures": [{"itemIdentifier": task["MessageId"]}]}
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []) == []  # held for 120 s
    assert len(bot.received) == 2 and all(r.payload is not None for r in bot.received)


def test_a_record_that_cannot_be_read_is_reported_failed(aws, context) -> None:
    answer = webhook_delivery_handler.lambda_handler({"Records": [sqs_record({"what": "is this"})]}, context)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}


class FakeSqs:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def send_message(self, **kwargs: Any) -> None:
        self.calls.append(("send", kwargs))

    def change_message_visibility(self, **kwargs: Any) -> None:
        self.calls.append(("hold", kwargs))


def test_delays_are_capped_by_what_sqs_allows() -> None:
    client = FakeSqs()
    queue = SqsTaskQueue(client, "https://sqs.test/q")

    queue.enqueue("msg_1", "t1", 1800)  # DelaySeconds: 15 min at most, the rest is held on arrival
    queue.hold("receipt", 36000)
    queue.hold("receipt", 50000)  # a visibility timeout: 12 h at most

    assert client.calls[0][1]["DelaySeconds"] == 900
    assert [c[1]["VisibilityTimeout"] for c in client.calls[1:]] == [36000, 43200]


def test_a_message_that_comes_back_early_is_held_for_the_rest_of_the_wait(aws, context) -> None:
    retrying = first_attempt_failed(context, 503, 503, 503)
    retrying.clock.advance(5)
    retrying.work.run_task(retrying.delivery_id, retrying.task_id)  # attempt 2 fails: attempt 3 is due in 300 s

    retrying.clock.advance(100)
    held = retrying.work.run_task(retrying.delivery_id, retrying.task_id)

    assert held.retry_in == 200


def test_the_event_sent_its_delivery_and_its_attempts_expire_30_days_after_their_last_change(aws, context) -> None:
    from tests.unit.conftest import table_items

    retrying = first_attempt_failed(context)
    start = retrying.clock.now
    retrying.clock.advance(5)
    retrying.work.run_task(retrying.delivery_id, retrying.task_id)

    expiry = {
        (i["pk"]["S"].split("#")[0], i["sk"]["S"]): int(i["expires_at"]["N"])
        for i in table_items()
        if i["pk"]["S"].startswith(("WHMSG#", "WHDLV#"))
    }
    thirty_days = 30 * 24 * 3600
    assert expiry == {
        ("WHMSG", "WHMSG"): int(start.timestamp()) + thirty_days,
        ("WHDLV", "WHDLV"): int(start.timestamp()) + 5 + thirty_days,
        ("WHDLV", "ATT#0001"): int(start.timestamp()) + thirty_days,
        ("WHDLV", "ATT#0002"): int(start.timestamp()) + 5 + thirty_days,
    }
