"""Webhooks to the operator's bots as the API shows them: subscriptions, the event-type catalogue,
the attempt log, replay and recovery, and what a bot receives."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from chatbridge.models.base import Model

EVENT_TYPES_DESCRIPTION = (
    "Event types from GET /v1/event-types, or patterns: a `*` segment stands for one segment, a final "
    "`*` for one or more (`<provider>.message.*`, `<provider>.*`), `*` alone for every type."
)
EXAMPLE_TIME = "2026-11-27T10:00:00Z"
EXAMPLE_WEBHOOK_ID = "wh_3f0c9d2a6b1e4f7a8c5d2e1f0a9b8c7d"


class WebhookCreateRequest(Model):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"url": "https://bot.example.com/chatbridge", "event_types": ["*"], "description": "Sales bot"}
        },
    )

    url: str = Field(
        min_length=8,
        max_length=2048,
        description="Where events are POSTed: https, to a host that resolves to public addresses only.",
    )
    event_types: list[str] = Field(min_length=1, max_length=50, description=EVENT_TYPES_DESCRIPTION)
    description: str = Field(default="", max_length=256)


class WebhookUpdateRequest(Model):
    """Only the fields given change. `enabled: true` also clears a subscription's failing record."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"enabled": True, "event_types": ["*"]}})

    url: str | None = Field(default=None, min_length=8, max_length=2048)
    event_types: list[str] | None = Field(
        default=None, min_length=1, max_length=50, description=EVENT_TYPES_DESCRIPTION
    )
    description: str | None = Field(default=None, max_length=256)
    enabled: bool | None = None

    @model_validator(mode="after")
    def _something_changes(self) -> WebhookUpdateRequest:
        if not self.model_fields_set:
            raise ValueError("name at least one of url, event_types, description, enabled")
        return self


class Webhook(Model):
    """A subscription. Its signing secret is never shown again after creation (or rotation)."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": EXAMPLE_WEBHOOK_ID,
                "url": "https://bot.example.com/chatbridge",
                "event_types": ["*"],
                "description": "Sales bot",
                "enabled": True,
                "disabled_reason": None,
                "disabled_at": None,
                "failing_since": None,
                "secret_created_at": EXAMPLE_TIME,
                "previous_secret_expires_at": None,
                "created_at": EXAMPLE_TIME,
                "updated_at": EXAMPLE_TIME,
            }
        }
    )

    id: str
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    disabled_reason: Literal["gone", "failing"] | None = Field(
        default=None, description="gone: the endpoint answered 410; failing: five days of failed attempts"
    )
    disabled_at: datetime | None = None
    failing_since: datetime | None = Field(
        default=None, description="The first failed attempt since the last success; five days of it disable."
    )
    secret_created_at: datetime
    previous_secret_expires_at: datetime | None = Field(
        default=None, description="After a rotation, until when the previous secret still signs."
    )
    created_at: datetime
    updated_at: datetime


class WebhookCreated(Webhook):
    secret: str | None = Field(
        default=None,
        description="The signing secret (`whsec_<base64>`), shown in this answer only; absent when an "
        "Idempotency-Key repeat finds the subscription already created (rotate it if the first answer was lost).",
    )


class WebhookPage(Model):
    items: list[Webhook]
    next_token: str | None = Field(default=None, description="Pass back as `next_token` for the next page.")


class SecretRotation(Model):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "webhook_id": EXAMPLE_WEBHOOK_ID,
                "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "previous_secret_expires_at": "2026-11-28T10:00:00Z",
            }
        }
    )

    webhook_id: str
    secret: str = Field(description="The new signing secret, shown in this answer only.")
    previous_secret_expires_at: datetime = Field(description="Until then deliveries carry both signatures.")


class WebhookPayload(Model):
    """The body of every delivery (Standard Webhooks' recommended shape)."""

    type: str = Field(description="The event type, e.g. the EventBridge detail-type.")
    timestamp: datetime = Field(description="When the event happened.")
    data: dict[str, Any] = Field(description="The normalised event, exactly as published on the EventBridge bus.")


class EventType(Model):
    name: str
    description: str
    example: WebhookPayload = Field(description="A body a bot receives for this type.")


class EventTypeList(Model):
    items: list[EventType]


class WebhookDisabled(Model):
    """`data` of a `chatbridge.webhook.disabled` event."""

    id: str = Field(description="This notice's id.")
    webhook_id: str
    url: str
    reason: Literal["gone", "failing"] = Field(
        description="gone: the endpoint answered 410; failing: every attempt failed for five days"
    )
    failing_since: datetime | None = None
    disabled_at: datetime


class DeliveryAttempt(Model):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "delivery_id": "msg_2b7e1c0f9a8d4e6b8c1d2e3f4a5b6c7d",
                "event_id": "7d9f3c1e-2b4a-5c6d-8e9f-0a1b2c3d4e5f",
                "event_type": "chatbridge.webhook.disabled",
                "attempt": 2,
                "status": "failed",
                "response_status": 503,
                "latency_ms": 41.2,
                "response_body": "upstream unavailable",
                "error": None,
                "trigger": "retry",
                "attempted_at": "2026-11-27T10:00:05Z",
                "next_attempt_at": "2026-11-27T10:05:05Z",
            }
        }
    )

    delivery_id: str = Field(description="The `webhook-id` header: the same on every attempt of this event here.")
    event_id: str
    event_type: str
    attempt: int = Field(description="1 for the first attempt; replays and recoveries continue the count.")
    status: Literal["succeeded", "failed"]
    response_status: int | None = Field(default=None, description="None when no answer came (timeout, refused).")
    latency_ms: float
    response_body: str = Field(description="The first 500 characters of the answer.")
    error: str | None = None
    trigger: Literal["event", "retry", "replay", "recovery"]
    attempted_at: datetime
    next_attempt_at: datetime | None = Field(default=None, description="When the next attempt is due, if any.")


class DeliveryAttemptPage(Model):
    items: list[DeliveryAttempt]
    next_token: str | None = Field(default=None, description="Pass back as `next_token` for the next page.")


class ReplayRequest(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"webhook": EXAMPLE_WEBHOOK_ID}})

    webhook: str | None = Field(
        default=None,
        max_length=64,
        description="One subscription's id; without it, every enabled subscription whose types match.",
    )


class QueuedDelivery(Model):
    webhook_id: str
    delivery_id: str = Field(description="The `webhook-id` the bot sees (the same as the first time).")


class ReplayOutcome(Model):
    event_id: str
    deliveries: list[QueuedDelivery]


class RecoverRequest(Model):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"since": EXAMPLE_TIME}})

    since: AwareDatetime = Field(description="Deliveries created at or after this time (with its offset).")


class RecoverOutcome(Model):
    webhook_id: str
    recovered: list[QueuedDelivery]
    more: bool = Field(description="True when more failed deliveries remain: call again.")


class RedriveReport(Model):
    """What a redrive of the events processor's dead-letter queue did."""

    batches: int = Field(description="Dead-letter messages read (each describes one failed stream batch).")
    redriven: int = Field(description="Messages whose every record is now processed; deleted from the queue.")
    kept: int = Field(description="Messages left in the queue (a record failed again, or the stream no longer has it).")
    records: int = Field(description="Stream records the messages named.")
    reapplied: int = Field(description="Event records processed now.")
    already_processed: int
    other: int = Field(description="Records that are not new provider events, or whose event is no longer kept.")
    failed: int
    problems: list[str] = Field(default_factory=list)
