"""Registrations as the API returns them. The request bodies, one per provider, are in
`chatbridge.models.requests` (built from the registry)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from chatbridge.models.base import Model


class Presence(Model):
    """Where SmartRegion last reported the user, from its presence webhooks."""

    state: str = Field(description="detected, connected or disconnected")
    last_seen_at: datetime
    event_id: str = Field(description="The event that set it: see GET /v1/events?registration_id=")


class Registration(Model):
    """A registration as the API returns it."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "0d4f1e1e-8a7b-5c55-9d36-2b0d8f0f5a11",
                "provider": "smartregion",
                "connection": "default",
                "status": "registered",
                "provider_ref": None,
                "user_id": "pntr54355430-dfbdb43-43t34mmljbd",
                "details": {"channel_id": "ch-1", "project_id": "pr-1", "last_outcome": "created"},
                "created_at": "2026-11-27T10:00:00Z",
                "updated_at": "2026-11-27T10:00:00Z",
            }
        }
    )

    id: str
    provider: str
    connection: str
    status: str
    provider_ref: str | None = None
    user_id: str
    details: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
    presence: Presence | None = Field(default=None, description="SmartRegion only, once a presence event arrived.")


class RegistrationPage(Model):
    items: list[Registration]
    next_token: str | None = Field(default=None, description="Pass back as `next_token` for the next page.")


class RegistrationOutcome(Model):
    """What the logic returns; also what an idempotent replay returns."""

    created: bool
    registration: Registration
    # The problem detail when the provider's outcome is unknown: the registration is stored
    # `unknown` and the answer is a 504 naming it (kept in the idempotency record, replayed as is).
    outcome_unknown: str | None = None
