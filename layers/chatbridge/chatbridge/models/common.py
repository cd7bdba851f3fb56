"""Models shared by every route."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chatbridge.models.base import Model

PROBLEM_TYPE_BASE = "https://chatbridge.dev/problems/"


# Problems are built on the error path only: like every Model, compiled on first use, not at import.
class FieldError(Model):
    field: str = Field(description="Dotted path of the offending field, e.g. `user_field.name`.")
    message: str


class Problem(Model):
    """RFC 9457 problem details, served as `application/problem+json`."""

    # No model-wide example: the OpenAPI document gives each error status its own
    # (chatbridge.edge.openapi.PROBLEM_EXAMPLES).

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


class Health(Model):
    status: Literal["ok"] = "ok"
    service: str
    version: str
