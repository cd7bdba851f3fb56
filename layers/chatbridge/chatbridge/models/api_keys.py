"""API keys as the admin routes and commands show them. The key itself appears once, on creation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints

from chatbridge.models.base import Model

ApiKeyStatus = Literal["active", "revoked", "expired"]


class ApiKey(Model):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "3f9a0c1d2b7e",
                "name": "presence-bot",
                "status": "active",
                "scopes": ["registrations:read", "events:read"],
                "providers": ["smartregion"],
                "created_at": "2026-11-27T10:00:00Z",
                "expires_at": "2027-05-27T00:00:00Z",
                "revoked_at": None,
                "created_by": "cli",
            }
        }
    )

    id: str = Field(description="The key's id (not the key): what logs, lists and revocations name.")
    name: str
    status: ApiKeyStatus
    scopes: list[str]
    providers: list[str] = Field(description="Providers or `provider/connection` the key is limited to; [] for all.")
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    created_by: str | None = Field(default=None, description="`cli`, or the id of the admin key that created it.")


class IssuedApiKey(ApiKey):
    # its own example: the one it inherits lacks the key
    model_config = ConfigDict(
        json_schema_extra={"example": {**ApiKey.model_config["json_schema_extra"]["example"], "key": "cbk_3f9a...e1"}}  # type: ignore[index,dict-item]
    )

    key: str = Field(description="The API key itself. Shown in this answer only: only its SHA-256 is stored.")


class ApiKeyPage(Model):
    items: list[ApiKey]
    next_token: str | None = Field(default=None, description="Pass back as `next_token` for the next page.")


class CreateApiKeyRequest(Model):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "name": "presence-bot",
                "scopes": ["registrations:read", "events:read"],
                "providers": ["smartregion"],
                "expires_at": "2027-05-27T00:00:00Z",
            }
        },
    )

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    scopes: list[str] = Field(
        min_length=1,
        max_length=16,
        description="`registrations:read|write`, `messages:read|write`, `contacts:read|write`, `events:read`, "
        "`admin`; `<capability>:*` for both accesses.",
    )
    providers: list[str] = Field(
        default_factory=list, max_length=32, description="Limit the key to these `provider` or `provider/connection`."
    )
    expires_at: AwareDatetime | None = Field(default=None, description="After this instant the key is refused.")
