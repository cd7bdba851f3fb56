"""SmartRegion's public request models, with their OpenAPI examples."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chatbridge.models.base import Model
from chatbridge.models.fields import ConnectionName, Identifier, JsonScalar


class SmartRegionRegistrationRequest(Model):
    """Register a bot user at SmartRegion (`POST /registration`)."""

    model_config = ConfigDict(
        defer_build=True,
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


REGISTRATION_REQUEST = SmartRegionRegistrationRequest
MESSAGING_REQUESTS: dict[str, type[BaseModel]] = {}
# What the API reference says of this provider, per operation.
NOTES: dict[str, str] = {
    "registrations": "registers a bot user (201) or updates it (200).",
}
