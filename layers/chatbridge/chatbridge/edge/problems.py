"""Every exception becomes a problem response (RFC 9457) here, and nowhere else.

`problem_for` is the one mapping: the resolver's only exception handler and the entry point both use
it. Inputs are never echoed, and an unexpected exception answers a fixed text: no exception message,
no traceback (they go to the log).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from chatbridge.edge.paths import route_not_found
from chatbridge.edge.serializer import json_text
from chatbridge.errors import ChatbridgeError, FieldIssue
from chatbridge.models.common import PROBLEM_TYPE_BASE, FieldError, Problem
from chatbridge.observability import logger

PROBLEM_CONTENT_TYPE = "application/problem+json"
# Written without pydantic: the answer of last resort must not be able to fail.
_INTERNAL_ERROR = {
    "type": PROBLEM_TYPE_BASE + "internal-error",
    "title": "Internal error",
    "status": 500,
    "detail": "An unexpected error occurred; it has been logged.",
}


def problem_response(
    status: int,
    kind: str,
    title: str,
    detail: str,
    *,
    errors: list[FieldIssue] | None = None,
    provider: str | None = None,
    provider_code: str | None = None,
    resource_id: str | None = None,
    location: str | None = None,
    required_scope: str | None = None,
) -> Response[str]:
    problem = Problem(
        type=PROBLEM_TYPE_BASE + kind,
        title=title,
        status=status,
        detail=detail,
        errors=[FieldError(field=e.field, message=e.message) for e in errors] if errors else None,
        provider=provider,
        provider_code=provider_code,
        id=resource_id,
        required_scope=required_scope,
    )
    return Response(
        status_code=status,
        content_type=PROBLEM_CONTENT_TYPE,
        # not model_dump_json: it refuses a lone surrogate a provider's words may carry into `detail`
        body=json_text(problem.model_dump(mode="json", exclude_none=True)),
        headers={"Location": location} if location else None,
    )


def from_chatbridge_error(exc: ChatbridgeError) -> Response[str]:
    if exc.status >= 500:
        logger.error(
            "request failed",
            extra={"problem": exc.kind, "detail": exc.detail, "provider": exc.provider, "resource_id": exc.resource_id},
        )
    else:
        logger.info("request refused", extra={"problem": exc.kind, "status": exc.status, "provider": exc.provider})
    return problem_response(
        exc.status,
        exc.kind,
        exc.title,
        exc.detail,
        errors=exc.errors,
        provider=exc.provider,
        provider_code=exc.provider_code,
        resource_id=exc.resource_id,
        location=exc.location,
        required_scope=getattr(exc, "required_scope", None),
    )


def _field_path(loc: tuple[Any, ...] | list[Any], body_tags: set[str]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    # discriminated unions insert their tags ("smartregion", or "biway.company" for a union nested
    # in a variant) into the location: they are noise to a client
    if len(parts) > 1 and f"{parts[0]}.{parts[1]}" in body_tags:
        parts = parts[2:]
    elif parts and parts[0] in body_tags:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _union_tag_issue(err: Any, body_tags: set[str]) -> FieldIssue:
    """A missing or unknown discriminator (`provider`, `kind`) is reported on that field."""
    if tuple(err.get("loc", ())) in ((), ("body",)) and not isinstance(err.get("input"), dict):
        return FieldIssue(field="body", message="must be a JSON object")
    # pydantic names a field discriminator `'kind'` and a function discriminator `provider()`
    discriminator = str(err.get("ctx", {}).get("discriminator", "provider")).strip("'").removesuffix("()")
    location = [*err.get("loc", ()), discriminator]
    if err.get("type") == "union_tag_not_found":
        message = f"field required: name the {discriminator}"
    else:
        expected = str(err.get("ctx", {}).get("expected_tags", "")).replace("'", "")
        message = f"unknown {discriminator}; supported: {expected}"
    return FieldIssue(field=_field_path(location, body_tags), message=message)


def from_validation_error(exc: RequestValidationError, body_tags: set[str]) -> Response[str]:
    """Pydantic errors (JSON of the wrong shape, bad query or path parameters) become 422; inputs are never echoed.

    Bodies that are not JSON never get here: the edge's body parser refuses them first (400).
    """
    raw = exc.errors()
    issues = []
    for err in raw:
        message = str(err.get("msg", "invalid"))
        if err.get("type") in ("union_tag_invalid", "union_tag_not_found"):
            issues.append(_union_tag_issue(err, body_tags))
            continue
        if err.get("type") == "literal_error" and tuple(err.get("loc", ()))[-1:] == ("provider",):
            expected = err.get("ctx", {}).get("expected", "")
            message = f"unknown provider; supported: {expected}".replace("'", "")
        issues.append(FieldIssue(field=_field_path(err.get("loc", ()), body_tags), message=message))
    logger.info("request failed validation", extra={"fields": [i.field for i in issues]})
    return problem_response(
        422,
        "validation-error",
        "Request failed validation",
        f"{len(issues)} field(s) failed validation.",
        errors=issues,
    )


def from_unexpected_error(exc: BaseException) -> Response[str]:
    logger.exception("unhandled error", exc_info=exc)
    return Response(status_code=500, content_type=PROBLEM_CONTENT_TYPE, body=json.dumps(_INTERNAL_ERROR))


def problem_for(
    exc: BaseException, body_tags: Iterable[str] = (), method: str = "GET", path: str = ""
) -> Response[str]:
    """The problem answering `exc`; `method` and `path` say which methods the path has, for an unknown route."""
    if isinstance(exc, ChatbridgeError):
        return from_chatbridge_error(exc)
    if isinstance(exc, RequestValidationError):
        return from_validation_error(exc, set(body_tags))
    if isinstance(exc, RouteNotFoundError):
        return from_chatbridge_error(route_not_found(method, path))
    return from_unexpected_error(exc)


def lambda_response(response: Response[str]) -> dict[str, Any]:
    """A problem as the Lambda proxy answer, for refusals made before the resolver runs."""
    return {
        "statusCode": response.status_code,
        "headers": {"Content-Type": PROBLEM_CONTENT_TYPE},
        "body": response.body,
        "isBase64Encoded": False,
    }
