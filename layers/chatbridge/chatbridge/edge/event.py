"""The API Gateway (HTTP API, payload 2.0) event, checked and normalised before anything reads it.

API Gateway sends well-formed events, but the entry point must answer whatever it is given (a direct
invoke, a hand-written test event, a future payload change): an event that cannot be read is a 400
problem, never an exception. Normalising also means every later reader sees one shape: header names
lower-cased (duplicates joined with commas, as API Gateway does), missing maps empty, the stage
`$default`, and only text that is valid Unicode.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chatbridge.errors import BadRequestError

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _is_text(value: object) -> bool:
    """A str that can be written as UTF-8 (no lone surrogates)."""
    if not isinstance(value, str):
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text_map(value: object, *, lower_keys: bool = False) -> dict[str, str]:
    """A map of text to text; entries that are not text are dropped, as API Gateway never sends them."""
    if not isinstance(value, Mapping):
        return {}
    result: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            continue
        if not (_is_text(key) and _is_text(item)):
            raise BadRequestError("The request holds text that is not valid UTF-8.")
        name = key.lower() if lower_keys else key
        result[name] = f"{result[name]},{item}" if name in result else item
    return result


def _method(event: Mapping[str, Any], http: Mapping[str, Any]) -> str:
    method = http.get("method")
    if not isinstance(method, str):
        route_key = event.get("routeKey")
        method = route_key.split(" ", 1)[0] if isinstance(route_key, str) else None
    method = method.upper() if isinstance(method, str) else ""
    if method not in METHODS:
        raise BadRequestError("The request event names no HTTP method.")
    return method


def well_formed(event: object) -> dict[str, Any]:
    """A normalised copy of `event`; `BadRequestError` when it cannot be read as an HTTP request."""
    if not isinstance(event, Mapping):
        raise BadRequestError("The request event is not an object.")
    context = event.get("requestContext")
    context = dict(context) if isinstance(context, Mapping) else {}
    http = context.get("http")
    http = dict(http) if isinstance(http, Mapping) else {}
    http["method"] = _method(event, http)
    path = event.get("rawPath")
    if not isinstance(path, str):
        path = http.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise BadRequestError("The request event names no path.")
    http["path"] = path
    context["http"] = http
    if not isinstance(context.get("stage"), str):
        context["stage"] = "$default"
    query = event.get("rawQueryString")
    body = event.get("body")
    if body is not None and not isinstance(body, str):
        raise BadRequestError("The request event's body is not text.")
    cookies = event.get("cookies")
    normalised = {
        **event,
        "rawPath": path,
        "rawQueryString": query if isinstance(query, str) else "",
        "headers": _text_map(event.get("headers"), lower_keys=True),
        "queryStringParameters": _text_map(event.get("queryStringParameters")) or None,
        "pathParameters": _text_map(event.get("pathParameters")) or None,
        "cookies": [c for c in cookies if isinstance(c, str)] if isinstance(cookies, list) else None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": event.get("isBase64Encoded") is True,
    }
    texts = [path, normalised["rawQueryString"], *(normalised["cookies"] or [])]
    if not all(_is_text(text) for text in texts):
        raise BadRequestError("The request holds text that is not valid UTF-8.")
    return {key: value for key, value in normalised.items() if value is not None or key == "body"}
