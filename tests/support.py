"""Test helpers: API Gateway v2 events, a Lambda context, and provider fakes routed by host.

The event builder and the Lambda context are the dev server's (local.dev_server.events,
local.lambda_runtime), so tests and the local stack hand the handlers the same events.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx

import registrations_handler
from local.dev_server import events
from local.lambda_runtime import FakeLambdaContext  # noqa: F401 - the one fake context; tests import it from here

ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = ROOT / "events"
API_KEY_CONTEXT = {"authenticated": True, "key_id": "test-key-id", "key_name": "tests"}
REQUEST_TIME = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # requestContext.time: never today's date
CLIENT_IP = "203.0.113.7"


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
    """A JSON request with an API key, past the authorizer (`authorizer=None`: not authorized)."""
    return events.api_event(
        method,
        f"{path}?{urlencode(query)}" if query else path,
        route_key=f"{method} {route or path}",
        headers={"content-type": "application/json", "x-api-key": "cbk_test", **(headers or {})},
        body=json.dumps(body) if isinstance(body, dict) else body,
        authorizer=authorizer,
        source_ip=CLIENT_IP,
        now=REQUEST_TIME,
    )


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
