"""Helpers of the webhook tests: a bot that verifies deliveries with the `standardwebhooks` package
(an implementation nobody here wrote), a settable clock, a recording task queue and publisher, and
subscriptions created through the real handler."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import standardwebhooks
from pydantic import BaseModel

import webhooks_handler
from chatbridge.logic.deliveries import BusEvent, Deliverer, open_signing_secrets
from chatbridge.store.base import get_webhook_store
from chatbridge.webhooks.sender import HttpSender, build_client
from tests.support import api_event, body_of

BOT_URL = "https://bot.example.com/chatbridge"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    payload: dict[str, Any] | None  # what standardwebhooks verified, None when it refused
    status: int | BaseException


@dataclass
class Bot:
    """A bot's endpoint behind an httpx MockTransport. `answers(received_so_far, request)` picks the status."""

    secrets: list[str] = field(default_factory=list)
    answer: Callable[[list[Received], httpx.Request], int | BaseException] = lambda _seen, _request: 200
    received: list[Received] = field(default_factory=list)
    verify: bool = True

    def handle(self, request: httpx.Request) -> httpx.Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        payload = None
        for secret in self.secrets:
            try:
                payload = standardwebhooks.Webhook(secret).verify(request.content, headers)
                break
            except standardwebhooks.WebhookVerificationError:
                continue
        status = self.answer(self.received, request)
        self.received.append(Received(headers, request.content, payload, status))
        if isinstance(status, BaseException):
            raise status
        return httpx.Response(status, text="ok" if status < 300 else f"bot says {status}")

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        # tests reason relative to this instant, never to a calendar date
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class RecordingQueue:
    """Delivery tasks as the SQS queue would get them."""

    sent: list[tuple[str, str, int]] = field(default_factory=list)

    def enqueue(self, delivery_id: str, task_id: str, delay_seconds: int) -> None:
        self.sent.append((delivery_id, task_id, delay_seconds))


@dataclass
class RecordingPublisher:
    notices: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def publish_notice(self, detail_type: str, detail: BaseModel, at: datetime) -> None:
        self.notices.append((detail_type, detail.model_dump(mode="json")))


def deliverer(bot: Bot, clock: Clock, queue: RecordingQueue, publisher: RecordingPublisher | None = None) -> Deliverer:
    return Deliverer(
        store=get_webhook_store(),
        sender=HttpSender(build_client("public", bot.transport()), "public"),
        queue=queue,
        secrets=open_signing_secrets,
        publisher=publisher,
        clock=clock,
    )


def call(
    method: str, path: str, context: Any, *, route: str | None = None, body: Any = None, **kwargs: Any
) -> dict[str, Any]:
    event = api_event(method, path, route=route, body=body, **kwargs)
    response: dict[str, Any] = webhooks_handler.lambda_handler(event, context)
    return response


def subscribe(
    context: Any, url: str = BOT_URL, event_types: list[str] | None = None, headers: dict[str, str] | None = None
) -> tuple[dict[str, Any], str]:
    response = call(
        "POST", "/v1/webhooks", context, body={"url": url, "event_types": event_types or ["*"]}, headers=headers
    )
    assert response["statusCode"] == 201, response["body"]
    created: dict[str, Any] = body_of(response)
    return created, created.pop("secret")


def bus_event(detail_type: str = "biway.message.read", event_id: str = "ev-1", **detail: Any) -> BusEvent:
    return BusEvent.model_validate(
        {
            "version": "0",
            "id": f"eb-{event_id}",
            "detail-type": detail_type,
            "source": "chatbridge",
            "time": "2026-11-27T10:00:05Z",
            "detail": {"id": event_id, "provider": detail_type.split(".", maxsplit=1)[0], "state": "read", **detail},
        }
    )


def sqs_record(body: dict[str, Any], receipt: str = "receipt-1", message_id: str = "m-1") -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": receipt,
        "body": json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:queue",
        "awsRegion": "eu-west-1",
    }
