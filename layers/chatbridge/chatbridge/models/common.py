"""Models shared by every route."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_TYPE_BASE = "https://chatbridge.dev/problems/"


# Problems are built on the error path only: their schemas are compiled on first use, not at import.
class FieldError(BaseModel):
    model_config = ConfigDict(defer_build=True)

    field: str = Field(description="Dotted path of the offending field, e.g. `user_field.name`.")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, served as `application/problem+json`."""

    # No model-wide example: the OpenAPI document gives each error status its own
    # (chatbridge.edge.openapi.PROBLEM_EXAMPLES).
    model_config = ConfigDict(defer_build=True)

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None
    provider: str | None = None
    provider_code: str | None = None
    id: str | None = Field(
        default=None,
        description="The resource this problem is about, where one was stored: with `outcome-unknown`, the "
        "registration or message saved with status `unknown` (read it at the `Location` header).",
    )
    required_scope: str | None = Field(default=None, description="403 only: the scope the route needs.")


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    service: str
    version: str
