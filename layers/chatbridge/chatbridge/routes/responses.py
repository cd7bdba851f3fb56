"""OpenAPI descriptions of the problem responses routes can give."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from chatbridge.models.common import Problem

_DESCRIPTIONS = {
    400: "Malformed JSON or query parameters",
    401: "Missing or invalid API key",
    404: "Unknown id or route",
    409: "Duplicate at the provider, or the same Idempotency-Key is in progress",
    413: "Body larger than 256 KiB",
    422: "Validation failed, or the provider rejected the input",
    429: "Too many calls for this provider connection (its rate limit); retry after a few seconds",
    502: "Provider refused our credentials or is unavailable",
    504: "Provider did not answer in time; `outcome-unknown`: it may have acted, the resource is stored `unknown` "
    "(`id`, `Location`) and the same Idempotency-Key replays this answer",
}


def problems(*statuses: int) -> dict[int, Any]:
    return {
        status: {
            "description": _DESCRIPTIONS[status],
            "content": {"application/problem+json": {"model": Problem}},
        }
        for status in statuses
    }


def success(model: type[BaseModel], description: str, status: int = 200) -> dict[int, Any]:
    """Powertools documents only the responses a route lists, so success answers are listed too."""
    return {status: {"description": description, "content": {"application/json": {"model": model}}}}
