"""Test helpers: API Gateway v2 events, a Lambda context, and provider fakes routed by host."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

import registrations_handler

ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = ROOT / "events"
API_KEY_CONTEXT = {"authenticated": True, "key_id": "test-key-id", "key_name": "tests"}


@dataclass
class FakeLambdaContext:
    function_name: str = "chatbridge-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:chatbridge-test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def api_event(
    method: str,
    path: str,
    *,
    route: str | None = None,
    body: str | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    authorizer: dict[str, Any] | None = API_KEY_CONTEXT,
) -> dict[str, Any]:
    text = json.dumps(body) if isinstance(body, dict) else body
    all_headers = {"content-type": "application/json", "x-api-key": "cbk_test", **(headers or {})}
    request_context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "api",
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "t"},
        "requestId": str(uuid.uuid4()),
        "routeKey": f"{method} {route or path}",
        "stage": "$default",
    }
    if authorizer is not None:
        request_context["authorizer"] = {"lambda": authorizer}
    return {
        "version": "2.0",
        "routeKey": f"{method} {route or path}",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": all_headers,
        "queryStringParameters": query,
        "requestContext": request_context,
        "body": text,
        "isBase64Encoded": False,
    }


def load_event(relative: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS_DIR / relative).read_text(encoding="utf-8"))
    return loaded


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


class ProviderFake(Protocol):
    def handle(self, request: httpx.Request) -> httpx.Response: ...


class ProviderFakes:
    """Routes each request to the fake of its host (`<provider>.test` in the unit secrets)."""

    def __init__(self) -> None:
        self.fakes: dict[str, ProviderFake] = {}

    def add(self, host: str, fake: ProviderFake) -> None:
        self.fakes[host] = fake

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.route)

    def route(self, request: httpx.Request) -> httpx.Response:
        fake = self.fakes.get(request.url.host)
        if fake is None:
            raise httpx.ConnectError(f"no fake for host {request.url.host}", request=request)
        return fake.handle(request)


def post_registration(
    body: dict[str, Any] | str, context: Any, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    import registrations_handler

    event = api_event("POST", "/v1/registrations", body=body, headers=headers)
    response: dict[str, Any] = registrations_handler.lambda_handler(event, context)
    return response


def get_registration(path: str, context: Any, query: dict[str, str] | None = None) -> dict[str, Any]:
    """GET /v1/registrations/{id} or, for the bare collection path, the query by user."""
    route = "/v1/registrations/{id}" if path.count("/") == 3 else None
    response: dict[str, Any] = registrations_handler.lambda_handler(
        api_event("GET", path, route=route, query=query), context
    )
    return response
