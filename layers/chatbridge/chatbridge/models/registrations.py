"""Registration requests (one variant per provider, discriminated on `provider`) and resources."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ConnectionName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$"),
    Field(description="Credential set to use: the secret `chatbridge/<provider>/<connection>`."),
]
Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
JsonScalar = str | int | float | bool | None


class SmartRegionRegistrationRequest(BaseModel):
    """Register a bot user at SmartRegion (`POST /registration`)."""

    model_config = ConfigDict(
        extra="forbid",
        title="SmartRegionRegistration",
        json_schema_extra={
            "examples": [
                {
                    "provider": "smartregion",
                    "user_id": "pntr54355430-dfbdb43-43t34mmljbd",
                    "payload": "6DNKKF_Pg9JNQsf7VixuOzO47xHxZJ6",
                    "user_field": {"name": "Ivan", "lastname": "Ivanov", "gender": "Male"},
                }
            ]
        },
    )

    provider: Literal["smartregion"]
    connection: ConnectionName = "default"
    user_id: Identifier = Field(description="Unique in the channel; SmartRegion returns it in events.")
    payload: Annotated[str, StringConstraints(min_length=1, max_length=2048)] = Field(
        description="The payload the bot received from the registration link (e.g. `?start=PAYLOAD`)."
    )
    user_field: dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], JsonScalar] | None = Field(
        default=None, max_length=50, description="Custom key/value fields: name, gender, phone..."
    )
    channel_id: Identifier | None = Field(default=None, description="Defaults to the connection's channel_id.")
    project_id: Identifier | None = Field(default=None, description="Defaults to the connection's project_id.")


# A single-variant union cannot carry a discriminator; later providers turn this into
# `Annotated[SmartRegion... | Smartico..., Field(discriminator="provider")]`.
RegistrationRequest = SmartRegionRegistrationRequest
REGISTRATION_PROVIDERS = ("smartregion",)


class Registration(BaseModel):
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


class RegistrationPage(BaseModel):
    items: list[Registration]
    next_token: str | None = Field(default=None, description="Pass back as `next_token` for the next page.")


class RegistrationOutcome(BaseModel):
    """What the logic returns; also what an idempotent replay returns."""

    created: bool
    registration: Registration
