"""OpenAPI descriptions shared by routes: the problem responses they can give, shared parameters."""

from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Header
from pydantic import BaseModel

from chatbridge.edge.body import MAX_BODY_BYTES, MAX_DEPTH, MAX_INTEGER_DIGITS
from chatbridge.models.common import PROBLEM_TYPE_BASE, Problem

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


# -- the finished document: one example per error status, API Gateway's own answers ---------------

PROBLEM_MEDIA_TYPE = "application/problem+json"
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_GATEWAY_REF = {"$ref": "#/components/schemas/GatewayMessage"}
# API Gateway's own answers are `{"message": "..."}` as application/json, never problem+json.
GATEWAY_MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "GatewayMessage",
    "description": "An answer API Gateway gives itself, before or instead of any function: "
    "`application/json`, never problem+json.",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
}
# What API Gateway answers itself, by status: (message, when). Every route may get these.
GATEWAY_ANSWERS: dict[int, tuple[str, str]] = {
    401: ("Unauthorized", "the `x-api-key` header is absent (routes that need a key)"),
    403: ("Forbidden", "the authorizer refused the key: unknown, revoked or expired (routes that need a key)"),
    429: ("Too Many Requests", "the stage's or route's throttling limit is reached"),
    500: ("Internal Server Error", "the authorizer or the function failed, or answered something unreadable"),
    503: ("Service Unavailable", "the function did not answer within API Gateway's 30 s"),
}
_GATEWAY_EVERYWHERE = (429, 500, 503)


def _problem(kind: str, title: str, status: int, detail: str, **extra: Any) -> dict[str, Any]:
    return {"type": PROBLEM_TYPE_BASE + kind, "title": title, "status": status, "detail": detail, **extra}


# One realistic problem per status: what Swagger UI shows for that status, and what the contract
# test validates against the Problem schema.
PROBLEM_EXAMPLES: dict[int, dict[str, Any]] = {
    400: _problem("malformed-json", "Malformed JSON", 400, "The body is not JSON: trailing data at line 1 column 18."),
    401: _problem("unauthorized", "Missing or invalid API key", 401, "Send a valid API key in the `x-api-key` header."),
    403: _problem(
        "insufficient-scope",
        "API key lacks the scope this route needs",
        403,
        "This route needs the scope `messages:write`; the key has `messages:read`.",
        required_scope="messages:write",
    ),
    404: _problem("not-found", "Resource not found", 404, "No registration has this id."),
    409: _problem(
        "conflict", "Conflict", 409, "A request with this Idempotency-Key is still in progress; retry in a few seconds."
    ),
    413: _problem(
        "payload-too-large",
        "Request body too large",
        413,
        f"The body is 300000 bytes; the limit is {MAX_BODY_BYTES} bytes.",
    ),
    415: _problem(
        "unsupported-media-type",
        "Unsupported media type",
        415,
        "Send the body as application/json (or without Content-Type), not text/plain.",
    ),
    422: _problem(
        "validation-error",
        "Request failed validation",
        422,
        "1 field(s) failed validation.",
        errors=[{"field": "recipient", "message": "Field required"}],
    ),
    429: _problem(
        "rate-limited",
        "Provider rate limit reached",
        429,
        "More calls than this provider connection allows per second; retry in a few seconds.",
    ),
    500: _problem("internal-error", "Internal error", 500, "An unexpected error occurred; it has been logged."),
    502: _problem(
        "provider-unavailable",
        "Provider unavailable",
        502,
        "The provider answered 503 to the message.",
        provider_code="503",
    ),
    504: _problem(
        "outcome-unknown",
        "Provider outcome unknown",
        504,
        "The provider did not answer in time; the message is stored as `unknown`.",
        id="msg_01HZX3Q9K2",
    ),
}
_DEFAULT_DESCRIPTIONS = {
    500: "Internal error (problem+json), or API Gateway's own answer when a function failed",
    503: "API Gateway's own answer: the function did not answer in time",
}


def _problem_examples(status: int) -> dict[str, Any]:
    example = PROBLEM_EXAMPLES.get(status)
    if example is None:
        return {}
    return {example["type"].removeprefix(PROBLEM_TYPE_BASE): {"summary": example["title"], "value": example}}


def _gateway_examples(status: int) -> dict[str, Any]:
    message, when = GATEWAY_ANSWERS[status]
    return {"api-gateway": {"summary": f"API Gateway itself: {when}", "value": {"message": message}}}


def _finish_response(status: int, response: dict[str, Any], guarded: bool, declared: bool) -> None:
    if status == 204:
        response.pop("content", None)  # no body, so no media type
        return
    if status < 400:
        return
    content = response.setdefault("content", {})
    if status == 422:
        # Powertools documents its own HTTPValidationError here; ours are problems
        content.pop("application/json", None)
    # a status added for API Gateway's sake is a problem too only for 500 (our internal error)
    if status in PROBLEM_EXAMPLES and (declared or status == 500):
        content[PROBLEM_MEDIA_TYPE] = {"schema": _PROBLEM_REF, "examples": _problem_examples(status)}
    if status in GATEWAY_ANSWERS and (guarded or status in _GATEWAY_EVERYWHERE):
        content["application/json"] = {"schema": _GATEWAY_REF, "examples": _gateway_examples(status)}
    else:
        content.pop("application/json", None)


def finish_document(document: dict[str, Any]) -> None:
    """Give every error answer of `document` its own example, and add the answers API Gateway gives itself.

    Each error status shows a problem of that status (and, where API Gateway answers that status
    itself, its `{"message": ...}` as a second media type); 422 is problem+json, not Powertools'
    schema; 204 has no content; header parameters are plain strings.
    """
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            guarded = operation.get("security") != []
            responses = operation.setdefault("responses", {})
            if not operation.get("parameters") and "requestBody" not in operation:
                # Powertools lists a 422 on every route; without input there is nothing to refuse
                responses.pop("422", None)
            declared = set(responses)
            if guarded:
                responses.setdefault("401", {"description": _DESCRIPTIONS[401]})
                responses.setdefault("403", {"description": _DESCRIPTIONS[403]})
            for status in _GATEWAY_EVERYWHERE:
                responses.setdefault(str(status), {"description": _DEFAULT_DESCRIPTIONS.get(status, "")})
                if not responses[str(status)].get("description"):
                    message, when = GATEWAY_ANSWERS[status]
                    responses[str(status)]["description"] = f"API Gateway's own `{message}`: {when}"
            for status, response in responses.items():
                _finish_response(int(status), response, guarded, status in declared)
            operation["responses"] = dict(sorted(responses.items()))
            for parameter in operation.get("parameters", []):
                _plain_header(parameter)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["GatewayMessage"] = GATEWAY_MESSAGE_SCHEMA
    _give_success_examples(document)
    text = json.dumps(document.get("paths", {}))
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{unused}" not in text:
            schemas.pop(unused, None)


def _plain_header(parameter: dict[str, Any]) -> None:
    """An optional header is a string that may be absent, not `anyOf: [string, null]` (headers are never null)."""
    if parameter.get("in") != "header":
        return
    schema = parameter.get("schema", {})
    variants = [v for v in schema.get("anyOf", []) if v.get("type") != "null"]
    if len(variants) == 1:
        parameter["schema"] = {**variants[0], **{k: v for k, v in schema.items() if k in ("title", "description")}}


def _resolved(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        found: dict[str, Any] = components.get(ref.rsplit("/", 1)[-1], {})
        return found
    return schema


def example_for(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    """An example of `schema`: the model's own example where it has one, else one built from the
    schema (each property from its own example, default, enum or type), so every answer shows one."""
    schema = _resolved(schema, components)
    if depth > 8:
        return None
    for key in ("examples", "example", "const", "default"):
        if key in schema and schema[key] is not None:
            value = schema[key]
            return value[0] if key == "examples" and isinstance(value, list) and value else value
    if schema.get("enum"):
        return schema["enum"][0]
    variants = schema.get("oneOf") or schema.get("anyOf")
    if variants:
        usable = [v for v in variants if v.get("type") != "null"] or variants
        return example_for(usable[0], components, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        return {
            name: example_for(prop, components, depth + 1)
            for name, prop in properties.items()
            if name in required or _resolved(prop, components).get("type") != "null"
        }
    if kind == "array":
        return [example_for(schema.get("items", {}), components, depth + 1)]
    if kind == "string":
        if schema.get("format") == "date-time":
            return "2026-11-27T10:00:00Z"
        return "x" * max(int(schema.get("minLength", 1)), 1) if "minLength" in schema else "string"
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return True
    return None


def _give_success_examples(document: dict[str, Any]) -> None:
    components = document.get("components", {}).get("schemas", {})
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if int(status) >= 400:
                    continue
                for content in response.get("content", {}).values():
                    if "example" not in content and "examples" not in content:
                        content["example"] = example_for(content.get("schema", {}), components)
