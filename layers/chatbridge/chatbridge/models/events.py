"""Provider webhooks as the API shows them: the receipt a provider gets, the events a client lists."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from chatbridge.models.base import Model


def callback_request_body() -> dict[str, Any]:
    """The OpenAPI request body of the webhook route: what each provider's webhooks carry."""
    from chatbridge.integrations import registry

    readers = {name: registry.integration(name).module("webhooks") for name in registry.callback_providers()}
    understood = "; ".join(f"{registry.integration(n).title} {m.UNDERSTOOD_FIELDS}" for n, m in readers.items())
    return {
        "description": (
            "Any JSON object: it is stored as received and never refused for its shape. Fields that are "
            f"understood: {understood}."
        ),
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "additionalProperties": True},
                "examples": {
                    name: {"summary": f"{registry.integration(name).title} webhook", "value": module.CALLBACK_EXAMPLE}
                    for name, module in readers.items()
                },
            }
        },
    }


class CallbackReceipt(Model):
    """Answer to a provider: the delivery is stored (or was already)."""

    model_config = {
        "json_schema_extra": {
            "example": {"id": "7d9f3c1e-2b4a-5c6d-8e9f-0a1b2c3d4e5f", "duplicate": False, "recognised": True}
        }
    }

    id: str = Field(description="The event's id; the same for every delivery of one event.")
    duplicate: bool = Field(description="True when this delivery was already stored: nothing changed.")
    recognised: bool = Field(description="False for a type or shape we do not know: kept, flagged, not applied.")


class Event(Model):
    """One provider event, as stored and as processed."""

    model_config = {
        "json_schema_extra": {
            "example": {
                "id": "7d9f3c1e-2b4a-5c6d-8e9f-0a1b2c3d4e5f",
                "provider": "biway",
                "type": "MESSENGER_REPORT",
                "recognised": True,
                "detail_type": "biway.message.read",
                "state": "read",
                "subject_ref": "msg-8841",
                "occurred_at": "2026-11-27T10:00:05Z",
                "received_at": "2026-11-27T10:00:05.120Z",
                "status": "processed",
                "outcome": "applied",
                "registration_ids": [],
                "message_id": "01JDXK3V8Q0000000000000000",
                "facts": {"resource_id": "msg-8841", "recipient": "+33670000000"},
                "data": {"event": "MESSENGER_REPORT", "resource_id": "msg-8841", "state": "read", "data": {}},
            }
        }
    }

    id: str
    provider: str
    type: str | None = Field(default=None, description="The event type as the provider sent it.")
    recognised: bool
    detail_type: str | None = Field(default=None, description="The EventBridge detail-type it was published as.")
    state: str | None = None
    subject_ref: str | None = Field(default=None, description="The provider's reference of what the event is about.")
    occurred_at: datetime | None = Field(default=None, description="The provider's time, where the body gives one.")
    received_at: datetime
    status: Literal["received", "processed"]
    outcome: Literal["applied", "unchanged", "unmatched", "unrecognised"] | None = Field(
        default=None,
        description="applied: changed the registration or message; unchanged: older than what is stored, or "
        "already applied; unmatched: no registration or message has this reference; unrecognised: unknown type.",
    )
    registration_ids: list[str] = Field(default_factory=list)
    message_id: str | None = None
    facts: dict[str, str] = Field(default_factory=dict, description="Fields extracted from the body.")
    data: Any = Field(description="The body exactly as the provider sent it.")


class EventPage(Model):
    items: list[Event]
    next_token: str | None = Field(default=None, description="Pass back as `next_token` for the next page.")


class BusEventDetail(Model):
    """`detail` of what the events processor publishes to EventBridge.

    Source `chatbridge`; detail-type `<provider>.<resource>.<state>`, e.g. `smartregion.user.connected`,
    `biway.account.active`, `biway.message.read`. Delivery is at least once: consumers dedupe on `id`.
    """

    id: str = Field(description="The event's id, as in GET /v1/events.")
    provider: str
    type: str | None = Field(default=None, description="The event type as the provider sent it.")
    state: str
    subject_ref: str = Field(description="The provider's reference of the user, account or message.")
    occurred_at: datetime
    received_at: datetime
    outcome: Literal["applied", "unchanged", "unmatched"]
    registration_ids: list[str] = Field(default_factory=list)
    message_id: str | None = None
    facts: dict[str, str] = Field(default_factory=dict)
