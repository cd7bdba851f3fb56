"""Request bodies: decoded strictly and parsed as strict JSON, once, for every route.

What a body must be (anything else is a 4xx problem, before a route sees it):
- at most `MAX_BODY_BYTES` once decoded (413); when the event says `isBase64Encoded`, real base64 (400);
- UTF-8, without a byte order mark (400);
- one JSON text with no trailing data, no `NaN`/`Infinity`, no control characters in
  strings, no unpaired surrogate escapes (`"\\ud800"`), no duplicate member names (400);
- what the gateway can keep, as bodies are stored in DynamoDB items, a few levels down: at most
  `MAX_DEPTH` nested arrays/objects (an item nests 32 levels), no empty member names (a map key
  cannot be empty), integers of at most 38 digits and other numbers zero or of magnitude 1e-130 to
  1e126 (DynamoDB numbers) (400);
- an object: every body of this API is one (422, as validation would say);
- on client routes, `Content-Type` absent or a JSON media type (`application/json`,
  `application/<name>+json`; parameters such as `charset` are ignored, JSON is UTF-8) (415).
  Webhook bodies are read whatever their `Content-Type`: providers label them loosely, and a 4xx
  would lose the event.

The depth is bounded before parsing, so no parser, validator or serializer downstream ever recurses
deeper than `MAX_DEPTH`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from chatbridge.errors import (
    BadRequestError,
    FieldIssue,
    MalformedJsonError,
    UnsupportedMediaTypeError,
    ValidationFailedError,
)

MAX_BODY_BYTES = 256 * 1024
MAX_DEPTH = 16
MAX_INTEGER_DIGITS = 38
SMALLEST_NUMBER = 1e-130
NUMBER_BOUND = 1e126
JSON_MEDIA_TYPES = "application/json or application/<name>+json"

# Brackets in JSON strings are not nesting: strings are removed before brackets are counted.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST_PAIR = re.compile(r"\[\]|\{\}")
# Where an unpaired surrogate could come from: a \uD800-\uDFFF escape.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def body_size(event: Mapping[str, Any]) -> int:
    """Decoded size in bytes, without decoding; never raises (a body that will not decode is refused when read)."""
    body = event.get("body")
    if not isinstance(body, str) or not body:
        return 0
    if event.get("isBase64Encoded") is True:
        padding = len(body) - len(body.rstrip("="))
        return len(body) * 3 // 4 - padding
    return len(body) if body.isascii() else len(body.encode("utf-8", "surrogatepass"))


def raw_bytes(event: Mapping[str, Any]) -> bytes:
    """The body as sent. Text that is not Unicode (lone surrogates) stays undecodable, refused when parsed."""
    body = event.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise BadRequestError("The request event's body is not text.")
    if event.get("isBase64Encoded") is True:
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise BadRequestError("The body is marked base64-encoded but is not valid base64.") from exc
    return body.encode("utf-8", "surrogatepass")


def _members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise MalformedJsonError("An object in the body repeats a member name.")
    if "" in members:
        raise MalformedJsonError("An object in the body has an empty member name.")
    return members


def _integer(literal: str) -> int:
    if len(literal) - literal.startswith("-") > MAX_INTEGER_DIGITS:
        raise MalformedJsonError(f"An integer in the body has more than {MAX_INTEGER_DIGITS} digits.")
    return int(literal)


def _number(literal: str) -> float:
    value = float(literal)
    mantissa = literal.lower().partition("e")[0]
    nonzero_literal = mantissa.strip("-0.") != ""
    # infinity (1e400) is out of range too; so is a literal that is not 0 but rounds to it (1e-400)
    if (value == 0 and nonzero_literal) or (value != 0 and not SMALLEST_NUMBER <= abs(value) < NUMBER_BOUND):
        raise MalformedJsonError(
            f"A number in the body is out of range: 0, or a magnitude from {SMALLEST_NUMBER:g} to {NUMBER_BOUND:g}."
        )
    return value


def _constant(name: str) -> Any:
    raise MalformedJsonError(f"The body is not JSON: {name} is not a JSON value.")


def _too_deep(text: str) -> bool:
    """Whether a parser would nest deeper than `MAX_DEPTH` in `text`; computed without recursing."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    brackets = _NOT_A_BRACKET.sub("", _STRING.sub("", text))
    for level in range(MAX_DEPTH + 1):
        if not brackets:
            return False
        # each pass removes the innermost pairs: as many passes as levels
        reduced = _INNERMOST_PAIR.sub("", brackets)
        if reduced == brackets:
            # unbalanced, so malformed: the parser may report where, if it cannot nest too deep on the way
            return level + brackets.count("[") + brackets.count("{") > MAX_DEPTH
        brackets = reduced
    return True


def _has_unpaired_surrogate(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedJsonError("The body is not valid UTF-8.") from exc


def _parse_text(text: str) -> Any:
    if text.startswith("\ufeff"):
        raise MalformedJsonError("The body starts with a byte order mark; send UTF-8 JSON without one.")
    if _too_deep(text):
        raise MalformedJsonError(f"The body nests arrays or objects more than {MAX_DEPTH} deep.")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_members,
            parse_int=_integer,
            parse_float=_number,
            parse_constant=_constant,
        )
    except json.JSONDecodeError as exc:
        raise MalformedJsonError(
            f"The body is not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})."
        ) from exc
    except RecursionError as exc:  # unreachable once the depth is bounded; kept as the parser's own guard
        raise MalformedJsonError(f"The body nests arrays or objects more than {MAX_DEPTH} deep.") from exc
    if _SURROGATE_ESCAPE.search(text) and _has_unpaired_surrogate(value):
        raise MalformedJsonError("A string in the body holds an unpaired surrogate escape.")
    return value


def _is_json_media_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and (subtype == "json" or (subtype.endswith("+json") and len(subtype) > 5))


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationFailedError(
            "The body must be a JSON object.",
            errors=[FieldIssue(field="body", message="must be a JSON object")],
        )
    return value


def json_body(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The JSON object a client sent (media type checked), or `None` when there is no body.

    Every body of this API is an object; anything else is refused here, before validation (which
    would take the first item of an array for a model).
    """
    raw = raw_bytes(event)
    if not raw:
        return None
    headers = event.get("headers") or {}
    content_type = headers.get("content-type") if isinstance(headers, Mapping) else None
    if content_type and not _is_json_media_type(str(content_type)):
        raise UnsupportedMediaTypeError(f"Send the body as {JSON_MEDIA_TYPES}.")
    return _object(_parse_text(_text(raw)))


def json_object(raw: bytes) -> tuple[str, dict[str, Any]]:
    """A webhook body: a JSON object, with its text. Its media type is not checked; empty is malformed."""
    if not raw:
        raise MalformedJsonError("The body is empty; a JSON object is expected.")
    text = _text(raw)
    return text, _object(_parse_text(text))
