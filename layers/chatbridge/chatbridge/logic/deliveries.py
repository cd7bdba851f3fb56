"""Deliveries of normalised events to the operator's bots: fan-out, attempts, the retry schedule
and the health of each subscription. Free of AWS and HTTP: the sender, the task queue, the secrets
and the clock are handed in (the delivery function wires the real ones).

- Fan-out: an event from the bus (EventBridge rule -> SQS) is stored as it will be sent, then each
  enabled subscription whose types match gets a delivery, attempted at once.
- A delivery's id is the `webhook-id` header: the same on every attempt, replay and recovery of
  one event to one subscription, so it is the key a bot dedupes on. Delivery is at least once: an
  attempt whose answer was lost, or a worker that stopped before recording it, is made again.
- Schedule: attempt n waits `schedule[n-1]` seconds after attempt n-1 (the default: immediately,
  5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), then the delivery is `failed`. A 2xx is success; 410
  disables the subscription at once; anything else (429, 5xx, other 4xx, 3xx, timeouts, refused
  addresses) is retried on the schedule.
- Health: a subscription's first failure after a success starts its failing period; a success
  ends it; a failure five days or more into it disables the subscription, and a
  `chatbridge.webhook.disabled` event says so (on the bus, hence to the other subscriptions).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, TypeVar

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field

from chatbridge.clock import derived_id, random_id, utc_now
from chatbridge.models.base import Model
from chatbridge.observability import logger, metrics
from chatbridge.settings import DEFAULT_RETRY_SCHEDULE
from chatbridge.store.base import WebhookStore
from chatbridge.store.items import (
    AttemptItem,
    DeliveryItem,
    RunTrigger,
    WebhookItem,
    WebhookMessageItem,
    webhook_expiry,
)
from chatbridge.webhooks import signing
from chatbridge.webhooks.patterns import subscribes

DISABLE_AFTER_FAILING = timedelta(days=5)
DISABLED_EVENT_TYPE = "chatbridge.webhook.disabled"
# A message that comes back less than this early is attempted (SQS delays are whole seconds).
EARLY_TOLERANCE = timedelta(seconds=1)
Item = TypeVar("Item")
Result = TypeVar("Result")
Mapper = Callable[[Callable[[Item], Result], Iterable[Item]], Iterator[Result]]


@dataclass(frozen=True)
class SendResult:
    """What one HTTP attempt gave: a status, or an error where no answer came."""

    status: int | None = None
    latency_ms: float = 0.0
    body: str = ""
    error: str | None = None


class Sender(Protocol):
    def send(self, url: str, headers: dict[str, str], body: bytes) -> SendResult: ...


class TaskQueue(Protocol):
    def enqueue(self, delivery_id: str, task_id: str, delay_seconds: int) -> None: ...


class NoticePublisher(Protocol):
    def publish_notice(self, detail_type: str, detail: BaseModel, at: datetime) -> None: ...


SecretOpener = Callable[[WebhookItem, datetime], list[str]]


class BusEvent(Model):
    """An EventBridge event as a rule's SQS target receives it."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    id: str
    detail_type: str = Field(alias="detail-type")
    source: str
    time: datetime
    detail: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """After an attempt: None when the delivery is settled (or someone else owns it), else seconds to wait."""

    retry_in: int | None = None


def delivery_id_for(event_id: str, webhook_id: str) -> str:
    return "msg_" + derived_id("webhook-delivery", event_id, webhook_id).replace("-", "")


def message_for(event: BusEvent, now: datetime) -> WebhookMessageItem:
    """The body every bot receives: Standard Webhooks' `{type, timestamp, data}`, `data` being the
    event's detail as published on the bus (for provider events, the normalised event)."""
    event_id = str(event.detail.get("id") or event.id)
    body = {"type": event.detail_type, "timestamp": event.time.isoformat().replace("+00:00", "Z"), "data": event.detail}
    return WebhookMessageItem(
        event_id=event_id,
        event_type=event.detail_type,
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        created_at=now,
        expires_at=webhook_expiry(now),
    )


def verdict_of(result: SendResult) -> Literal["succeeded", "gone", "failed"]:
    if result.status is not None and 200 <= result.status < 300:
        return "succeeded"
    if result.status == 410:
        return "gone"
    return "failed"


def restart(
    store: WebhookStore,
    queue: TaskQueue,
    *,
    webhook: WebhookItem,
    message: WebhookMessageItem,
    trigger: RunTrigger,
    now: datetime,
) -> DeliveryItem | None:
    """Send `message` to `webhook` again from the start of the schedule (replay, recovery); the
    delivery keeps its id and its attempt count. None when it changed meanwhile (retry the call)."""
    delivery_id = delivery_id_for(message.event_id, webhook.id)
    existing = store.get_delivery(delivery_id)
    fresh = DeliveryItem(
        id=delivery_id,
        webhook_id=webhook.id,
        event_id=message.event_id,
        event_type=message.event_type,
        status="pending",
        task_id=random_id(),
        attempts=existing.attempts if existing else 0,
        run_attempts=0,
        run_trigger=trigger,
        next_attempt_at=now,
        created_at=existing.created_at if existing else now,
        updated_at=now,
        expires_at=webhook_expiry(now),
    )
    if not store.put_delivery(fresh, expected_task=existing.task_id if existing else None):
        return None
    queue.enqueue(fresh.id, fresh.task_id, 0)
    return fresh


@dataclass
class Deliverer:
    store: WebhookStore
    sender: Sender
    queue: TaskQueue
    secrets: SecretOpener
    publisher: NoticePublisher | None = None
    schedule: tuple[int, ...] = DEFAULT_RETRY_SCHEDULE
    clock: Callable[[], datetime] = utc_now
    # runs the first attempts of one event's deliveries; the delivery function passes a thread pool's map
    parallel: Mapper[Any, Any] = field(default=map)

    # -- fan-out -----------------------------------------------------------------------------------

    def fan_out(self, event: BusEvent, subscriptions: list[WebhookItem] | None = None) -> list[Outcome]:
        """Store the event as sent and make the first attempt of each matching subscription's delivery.
        `subscriptions`: read once for a batch of events by the caller, else here."""
        message = message_for(event, self.clock())
        if not self.store.put_message(message):
            message = self.store.get_message(message.event_id) or message  # a repeated fan-out sends the first body
        listed = self.store.all_webhooks() if subscriptions is None else subscriptions
        targets = [w for w in listed if w.enabled and subscribes(w.event_types, message.event_type)]
        return list(self.parallel(lambda webhook: self._first_attempt(message, webhook), targets))

    def _first_attempt(self, message: WebhookMessageItem, webhook: WebhookItem) -> Outcome:
        now = self.clock()
        delivery = DeliveryItem(
            id=delivery_id_for(message.event_id, webhook.id),
            webhook_id=webhook.id,
            event_id=message.event_id,
            event_type=message.event_type,
            status="pending",
            task_id=random_id(),
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
            expires_at=webhook_expiry(now),
        )
        if not self.store.put_delivery(delivery, expected_task=None):
            # This fan-out ran before and stopped part way (its queue message came back).
            existing = self.store.get_delivery(delivery.id)
            if existing is None or existing.status in ("succeeded", "failed"):
                return Outcome()
            if existing.status == "retrying":
                return self._requeue(existing, now)
            delivery = existing
        outcome = self._attempt(delivery, webhook, message)
        if outcome.retry_in is not None:
            self.queue.enqueue(delivery.id, delivery.task_id, outcome.retry_in)
        return outcome

    def _requeue(self, delivery: DeliveryItem, now: datetime) -> Outcome:
        """The retry message of a delivery may never have been sent: hand the delivery to a new one
        (a message of the old task, if there is one, is dropped when it comes back)."""
        moved = delivery.model_copy(update={"task_id": random_id(), "updated_at": now})
        if not self.store.put_delivery(moved, expected_task=delivery.task_id):
            return Outcome()
        due = delivery.next_attempt_at or now
        wait = max(0, math.ceil((due - now).total_seconds()))
        self.queue.enqueue(moved.id, moved.task_id, wait)
        return Outcome(retry_in=wait)

    # -- queued attempts -------------------------------------------------------------------------

    def run_task(self, delivery_id: str, task_id: str) -> Outcome:
        """A delivery task from the queue: attempt if due; `retry_in` is how long to hold the message."""
        delivery = self.store.get_delivery(delivery_id)
        if delivery is None or delivery.task_id != task_id or delivery.status in ("succeeded", "failed"):
            return Outcome()  # settled, or superseded by a replay or recovery
        now = self.clock()
        if delivery.next_attempt_at is not None and delivery.next_attempt_at - now > EARLY_TOLERANCE:
            return Outcome(retry_in=math.ceil((delivery.next_attempt_at - now).total_seconds()))
        webhook = self.store.get_webhook(delivery.webhook_id)
        if webhook is None:
            return self._give_up(delivery, "the subscription was deleted", now)
        if not webhook.enabled:
            return self._give_up(delivery, "the subscription is disabled", now)
        message = self.store.get_message(delivery.event_id)
        if message is None:
            return self._give_up(delivery, "the event is no longer kept", now)
        return self._attempt(delivery, webhook, message)

    def _give_up(self, delivery: DeliveryItem, reason: str, now: datetime) -> Outcome:
        failed = delivery.model_copy(
            update={"status": "failed", "next_attempt_at": None, "last_error": reason, "updated_at": now}
        )
        self.store.put_delivery(failed, expected_task=delivery.task_id)
        logger.info("delivery %s", "abandoned", extra={"delivery_id": delivery.id, "reason": reason})
        return Outcome()

    # -- one attempt -------------------------------------------------------------------------------

    def _attempt(self, delivery: DeliveryItem, webhook: WebhookItem, message: WebhookMessageItem) -> Outcome:
        now = self.clock()
        body = message.body.encode("utf-8")
        headers = signing.headers(delivery.id, int(now.timestamp()), body, self.secrets(webhook, now))
        result = self.sender.send(webhook.url, headers, body)
        verdict = verdict_of(result)
        run_attempts = delivery.run_attempts + 1
        disable: Literal["gone", "failing"] | None = None
        next_at: datetime | None = None
        if verdict == "succeeded":
            status: Literal["succeeded", "retrying", "failed"] = "succeeded"
        elif verdict == "gone":
            status, disable = "failed", "gone"
        elif webhook.failing_since is not None and now - webhook.failing_since >= DISABLE_AFTER_FAILING:
            status, disable = "failed", "failing"
        elif run_attempts < len(self.schedule):
            status, next_at = "retrying", now + timedelta(seconds=self.schedule[run_attempts])
        else:
            status = "failed"
        attempt = AttemptItem(
            delivery_id=delivery.id,
            webhook_id=webhook.id,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            attempt=delivery.attempts + 1,
            outcome="succeeded" if verdict == "succeeded" else "failed",
            response_status=result.status,
            latency_ms=result.latency_ms,
            response_body=result.body[:500],
            error=result.error,
            trigger=delivery.run_trigger if delivery.run_attempts == 0 else "retry",
            attempted_at=now,
            next_attempt_at=next_at,
            expires_at=webhook_expiry(now),
        )
        updated = delivery.model_copy(
            update={
                "status": status,
                "attempts": attempt.attempt,
                "run_attempts": run_attempts,
                "next_attempt_at": next_at,
                "last_response_status": result.status,
                "last_error": result.error,
                "updated_at": now,
                "expires_at": webhook_expiry(now),
            }
        )
        recorded = self.store.put_delivery_with_attempt(
            updated, attempt, expected_task=delivery.task_id, expected_attempts=delivery.attempts
        )
        metrics.add_metric(name=f"webhooks.attempt.{attempt.outcome}", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="webhooks.attempt.latency", unit=MetricUnit.Milliseconds, value=result.latency_ms)
        if not recorded:
            # another worker recorded this attempt, or a replay took the delivery over
            return Outcome()
        if verdict != "succeeded":
            logger.info(
                "delivery attempt %s",
                "failed",
                extra={
                    "delivery_id": delivery.id,
                    "webhook_id": webhook.id,
                    "attempt": attempt.attempt,
                    "response_status": result.status,
                    "error": result.error,
                    "next_attempt_at": next_at.isoformat() if next_at else None,
                },
            )
        self._keep_health(webhook, verdict == "succeeded", disable, now)
        return Outcome(retry_in=self.schedule[run_attempts] if status == "retrying" else None)

    def _keep_health(
        self, webhook: WebhookItem, succeeded: bool, disable: Literal["gone", "failing"] | None, now: datetime
    ) -> None:
        if succeeded:
            if webhook.failing_since is not None:
                self.store.clear_failing(webhook.id)
            return
        if webhook.failing_since is None:
            self.store.mark_failing(webhook.id, now)
        if disable and self.store.disable_webhook(webhook.id, disable, now):
            logger.warning("webhook %s", "disabled", extra={"webhook_id": webhook.id, "reason": disable})
            metrics.add_metric(name=f"webhooks.disabled.{disable}", unit=MetricUnit.Count, value=1)
            if self.publisher is not None:
                self._announce(webhook, disable, now)

    def _announce(self, webhook: WebhookItem, reason: Literal["gone", "failing"], now: datetime) -> None:
        from chatbridge.models.webhooks import WebhookDisabled

        notice = WebhookDisabled(
            id=derived_id("webhook-disabled", webhook.id, now.isoformat()),
            webhook_id=webhook.id,
            url=webhook.url,
            reason=reason,
            failing_since=webhook.failing_since or now,
            disabled_at=now,
        )
        assert self.publisher is not None
        try:
            self.publisher.publish_notice(DISABLED_EVENT_TYPE, notice, now)
        except Exception:
            # the subscription is disabled either way (GET shows it); the notice is not worth a retry
            # that would attempt the delivery again
            logger.exception("the webhook.disabled event could not be published")


def open_signing_secrets(webhook: WebhookItem, now: datetime) -> list[str]:
    """The secrets that sign now, newest first: the current one and, for 24 h after a rotation, the one it replaced."""
    from chatbridge.webhooks.secrets import open_secret

    live = [s for s in webhook.secrets if s.retires_at is None or s.retires_at > now]
    return [open_secret(s.ciphertext, webhook.id) for s in reversed(live)]  # a rotation appends: newest first
