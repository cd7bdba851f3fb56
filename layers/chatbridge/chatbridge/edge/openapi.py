"""OpenAPI descriptions shared by routes: the problem responses they can give, shared parameters."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Header
from pydantic import BaseModel

from chatbridge.edge.body import MAX_BODY_BYTES, MAX_DEPTH, MAX_INTEGER_DIGITS
from chatbridge.models.common import Problem

# For the API description: what every request body must be (`chatbridge.edge.body`).
BODY_RULES = (
    f"Request bodies are UTF-8 JSON objects of at most {MAX_BODY_BYTES // 1024} KiB, sent as `application/json` "
    "(or without Content-Type; provider webhooks may use any). Refused with 400: a byte order mark, trailing "
    "data, NaN or Infinity, duplicate or empty member names, unpaired surrogate escapes (`\\ud800`), nesting "
    f"deeper than {MAX_DEPTH} levels, integers of more than {MAX_INTEGER_DIGITS} digits, other numbers that "
    "are neither 0 nor of magnitude 1e-130 to 1e126."
)
_DESCRIPTIONS = {
    400: "Malformed request: the body is not UTF-8 JSON as the API description states, or a parameter is malformed",
    401: "Missing or invalid API key",
    403: "The API key lacks the scope this route needs, or may not reach the provider it names",
    404: "Unknown id or route",
    409: "Duplicate at the provider, or the same Idempotency-Key is in progress",
    413: f"Body larger than {MAX_BODY_BYTES // 1024} KiB",
    415: "Content-Type is not JSON: send application/json (or no Content-Type)",
    422: "Validation failed, or the provider rejected the input",
    429: "Too many calls for this provider connection (its rate limit); retry after a few seconds",
    502: "Provider refused our credentials or is unavailable",
    504: "Provider did not answer in time; `outcome-unknown`: it may have acted, the resource is stored `unknown` "
    "(`id`, `Location`) and the same Idempotency-Key replays this answer",
}

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Send one with every POST. Retries with the same key return the first answer (a 504 "
        "`outcome-unknown` included); the provider is called once.",
    ),
]


# API Gateway answers a request without the x-api-key header itself, before any function runs.
_GATEWAY_401 = {"schema": {"type": "object", "properties": {"message": {"type": "string", "const": "Unauthorized"}}}}


def problems(*statuses: int) -> dict[int, Any]:
    documented: dict[int, Any] = {}
    for status in statuses:
        content: dict[str, Any] = {"application/problem+json": {"model": Problem}}
        description = _DESCRIPTIONS[status]
        if status == 401:
            content["application/json"] = _GATEWAY_401
            description += ' (without the header, API Gateway answers {"message": "Unauthorized"} itself)'
        documented[status] = {"description": description, "content": content}
    return documented


def success(model: type[BaseModel], description: str, status: int = 200) -> dict[int, Any]:
    """Powertools documents only the responses a route lists, so success answers are listed too."""
    return {status: {"description": description, "content": {"application/json": {"model": model}}}}
