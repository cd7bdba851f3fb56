"""The events API Gateway (HttpApi, payload format 2.0) sends: to a function, and to the authorizer.

`api_event` builds one for a request without serving it, for whoever invokes a handler directly
(the tests, the benchmarks); the Gateway builds the same events from the same pieces.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from local.dev_server.messages import HttpRequest
from local.lambda_runtime import ACCOUNT_ID
from local.ports import LOOPBACK

API_ID = "local"
STAGE = "$default"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RequestParts:
    """The request as API Gateway presents it in every payload-2.0 event."""

    raw_path: str
    raw_query: str
    headers: dict[str, str]
    cookies: list[str]
    query: dict[str, str]
    body: str | None
    is_base64: bool

    @classmethod
    def of(cls, request: HttpRequest) -> RequestParts:
        raw_path, _, raw_query = request.target.partition("?")
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for name, value in request.headers:
            key = name.lower()
            if key == "cookie":
                # Payload 2.0 moves cookies out of the headers into their own list.
                cookies.extend(c.strip() for c in value.split(";") if c.strip())
                continue
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        query: dict[str, str] = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        body, is_base64 = _event_body(request.body)
        return cls(raw_path or "/", raw_query, headers, cookies, query, body, is_base64)

    def common_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "rawPath": self.raw_path,
            "rawQueryString": self.raw_query,
            "headers": self.headers,
        }
        # API Gateway omits empty collections rather than sending them empty.
        if self.cookies:
            fields["cookies"] = self.cookies
        if self.query:
            fields["queryStringParameters"] = self.query
        return fields


def _event_body(body: bytes) -> tuple[str | None, bool]:
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def request_context(
    request: HttpRequest, parts: RequestParts, route_key: str, request_id: str, now: datetime
) -> dict[str, Any]:
    domain = parts.headers.get("host", request.host)
    return {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": parts.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": parts.headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": STAGE,
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }


def http_event(
    parts: RequestParts,
    route_key: str,
    path_parameters: Mapping[str, str],
    context: dict[str, Any],
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The function's event; `authorizer` is the context a Lambda authorizer returned, if any."""
    event: dict[str, Any] = {"version": "2.0", "routeKey": route_key, **parts.common_fields()}
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    event["requestContext"] = context if authorizer is None else {**context, "authorizer": {"lambda": authorizer}}
    if parts.body is not None:
        event["body"] = parts.body
    event["isBase64Encoded"] = parts.is_base64
    return event


def authorizer_event(
    parts: RequestParts,
    route_key: str,
    path_parameters: Mapping[str, str],
    context: dict[str, Any],
    identity: str,
    region: str,
) -> dict[str, Any]:
    method = context["http"]["method"]
    event: dict[str, Any] = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{API_ID}/{STAGE}/{method}{parts.raw_path}",
        "identitySource": [identity],
        "routeKey": route_key,
        **parts.common_fields(),
        "requestContext": context,
    }
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    return event


def api_event(
    method: str,
    target: str,
    *,
    route_key: str | None = None,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    body: str | bytes | None = None,
    path_parameters: Mapping[str, str] | None = None,
    authorizer: Mapping[str, Any] | None = None,
    source_ip: str = LOOPBACK,
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The event a function gets for `method target` (path and query string), without routing.

    `route_key` defaults to the method and the path. Bytes are the body as sent (base64 in the
    event unless UTF-8); a str is put in the event as it is, an empty one included, so a caller can
    hand a function what API Gateway itself would not. `now` defaults to the current time.
    """
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    request = HttpRequest(method, target, pairs, body if isinstance(body, bytes) else b"", source_ip=source_ip)
    parts = RequestParts.of(request)
    if isinstance(body, str):
        parts = replace(parts, body=body, is_base64=False)
    key = route_key or f"{method} {parts.raw_path}"
    context = request_context(request, parts, key, request_id or str(uuid.uuid4()), now or utc_now())
    return http_event(parts, key, path_parameters or {}, context, authorizer)
