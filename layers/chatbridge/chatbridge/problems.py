"""Every exception becomes a problem response here, and nowhere else."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from chatbridge.errors import ChatbridgeError, FieldIssue
from chatbridge.models.common import PROBLEM_TYPE_BASE, FieldError, Problem
from chatbridge.observability import logger

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem_response(
    status: int,
    kind: str,
    title: str,
    detail: str,
    *,
    errors: list[FieldIssue] | None = None,
    provider: str | None = None,
    provider_code: str | None = None,
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
        required_scope=required_scope,
    )
    return Response(
        status_code=status,
        content_type=PROBLEM_CONTENT_TYPE,
        body=problem.model_dump_json(exclude_none=True),
    )


def from_chatbridge_error(exc: ChatbridgeError) -> Response[str]:
    if exc.status >= 500:
        logger.error("request failed", extra={"problem": exc.kind, "detail": exc.detail, "provider": exc.provider})
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
    """Pydantic errors become 400 (not JSON) or 422 (JSON of the wrong shape); inputs are never echoed."""
    raw = exc.errors()
    if any(err.get("type") == "json_invalid" for err in raw):
        return problem_response(400, "malformed-json", "Malformed JSON", "The request body is not valid JSON.")
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


def from_unexpected_error(exc: Exception) -> Response[str]:
    logger.exception("unhandled error")
    return problem_response(
        500, "internal-error", "Internal error", "An unexpected error occurred; it has been logged."
    )
