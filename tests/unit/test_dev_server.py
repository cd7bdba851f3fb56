"""The dev server's API Gateway emulation, without sockets (Gateway.handle)."""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from chatbridge.logic.api_keys import issue_api_key
from local.dev_server.emulation import BadLambdaResponseError, Gateway, response_from_result
from local.dev_server.events import api_event
from local.dev_server.messages import HttpRequest
from local.dev_server.routes import RouteTable
from local.dev_server.server import loggable_path
from local.lambda_runtime import FakeLambdaContext, invoke
from local.template import http_routes


def request(method: str, target: str, *, key: str | None = None, body: bytes = b"") -> HttpRequest:
    headers = [("Content-Type", "application/json")]
    if key is not None:
        headers.append(("X-Api-Key", key))
    return HttpRequest(method=method, target=target, headers=headers, body=body)


@pytest.fixture
def gateway(providers) -> Gateway:  # type: ignore[no-untyped-def]
    loaded = Gateway(authorizer_ttl=300)
    loaded.load()
    return loaded


def test_routes_match_literal_paths_before_variables_and_decode_parameters() -> None:
    table = RouteTable(r for r in http_routes() if r.route_key != "$default")

    literal = table.match("GET", "/v1/registrations")
    variable = table.match("GET", "/v1/registrations/a%20b")

    assert literal is not None and literal[0].path == "/v1/registrations"
    assert variable is not None and variable[1] == {"id": "a b"}
    assert table.match("PATCH", "/v1/registrations") is None
    assert table.match("GET", "/v1/nowhere") is None


def test_what_no_route_matches_goes_to_the_catch_all_route_when_the_template_has_one() -> None:
    table = RouteTable(http_routes())
    catch_all = [r for r in http_routes() if r.route_key == "$default"]

    assert len(catch_all) == 1 and catch_all[0].public
    for method, path in [("PATCH", "/v1/registrations"), ("GET", "/v1/nowhere"), ("GET", "/v1/callbacks/biway/t")]:
        matched = table.match(method, path)
        assert matched == (catch_all[0], {}), (method, path)
    # and never shadows a real route
    real = table.match("GET", "/v1/registrations")
    assert real is not None and real[0].route_key == "GET /v1/registrations"


def test_missing_key_is_api_gateways_own_401(gateway: Gateway) -> None:
    response = gateway.handle(request("GET", "/v1/registrations/x"))

    assert response.status == 401
    assert json.loads(response.body) == {"message": "Unauthorized"}


def test_unknown_key_is_denied_by_the_authorizer_without_invoking_the_function(gateway: Gateway, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def must_not_run(event, context):  # type: ignore[no-untyped-def]
        raise AssertionError("an unknown key reached the backend")

    monkeypatch.setitem(gateway._handlers, "RegistrationsFunction", must_not_run)

    response = gateway.handle(request("GET", "/v1/registrations/x", key="cbk_unknown"))

    assert response.status == 403
    assert json.loads(response.body) == {"message": "Forbidden"}


def test_valid_key_is_authorized_once_and_cached(gateway: Gateway, smartregion) -> None:  # type: ignore[no-untyped-def]
    key = issue_api_key("dev", scopes=["registrations:*"]).key
    body = json.dumps({"provider": "smartregion", "user_id": "u-dev", "payload": "P"}).encode()

    created = gateway.handle(request("POST", "/v1/registrations", key=key, body=body))
    registration_id = json.loads(created.body)["id"]
    read = gateway.handle(request("GET", f"/v1/registrations/{registration_id}", key=key))

    assert created.status == 201
    assert read.status == 200
    assert json.loads(read.body)["id"] == registration_id
    assert any(name == "apigw-requestid" for name, _ in read.headers)


def test_public_routes_need_no_key(gateway: Gateway) -> None:
    assert gateway.handle(request("GET", "/v1/health")).status == 200


@pytest.mark.parametrize(
    ("method", "target", "detail"),
    [
        ("GET", "/v1/nowhere", "No route serves GET on this path."),
        ("GET", "/v1/broadcasts/b-1", "No route serves GET on this path."),
        ("GET", "/v1/callbacks/biway/secret-token-123", "This path answers POST, not GET."),
        ("DELETE", "/v1/registrations", "This path answers GET and POST, not DELETE."),
    ],
)
def test_an_unknown_route_is_a_404_problem_from_the_catch_all_route_without_a_key(
    gateway: Gateway, method: str, target: str, detail: str
) -> None:
    response = gateway.handle(request(method, target))

    assert response.status == 404
    assert dict(response.headers)["Content-Type"] == "application/problem+json"
    problem = json.loads(response.body)
    assert problem["type"].endswith("/not-found") and problem["status"] == 404
    assert problem["detail"].startswith(detail) and "/v1/openapi.json" in problem["detail"]
    assert "secret-token-123" not in response.body.decode()


def test_an_unknown_route_answers_the_same_404_with_a_key(gateway: Gateway) -> None:
    key = issue_api_key("dev", scopes=["messages:*"]).key
    with_key = gateway.handle(request("GET", "/v1/broadcasts/b-1", key=key))
    without = gateway.handle(request("GET", "/v1/broadcasts/b-1"))

    assert with_key.status == without.status == 404
    assert json.loads(with_key.body)["detail"] == json.loads(without.body)["detail"]


def test_without_a_catch_all_route_an_unknown_route_is_api_gateways_own_404(gateway: Gateway) -> None:
    gateway._table = RouteTable(r for r in gateway.routes if r.route_key != "$default")

    response = gateway.handle(request("GET", "/v1/nowhere"))

    assert response.status == 404
    assert json.loads(response.body) == {"message": "Not Found"}


def test_a_crashing_function_is_a_500_like_an_http_api(gateway: Gateway, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def crash(event, context):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    monkeypatch.setitem(gateway._handlers, "MetaFunction", crash)

    response = gateway.handle(request("GET", "/v1/health"))

    assert response.status == 500
    assert json.loads(response.body) == {"message": "Internal Server Error"}
    assert b"boom" not in response.body


def test_lambda_results_translate_like_api_gateway() -> None:
    translated = response_from_result(
        {
            "statusCode": 201,
            "headers": {"X-One": "1"},
            "multiValueHeaders": {"X-Many": ["a", "b"]},
            "cookies": ["c=1"],
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }
    )

    assert translated.status == 201
    assert translated.body == b"\x00\x01"
    assert ("X-Many", "a") in translated.headers and ("X-Many", "b") in translated.headers
    assert ("Set-Cookie", "c=1") in translated.headers
    assert response_from_result({"ok": True}).status == 200
    with pytest.raises(BadLambdaResponseError):
        response_from_result({"statusCode": 42})


def test_logged_paths_hide_webhook_tokens_and_query_strings() -> None:
    assert loggable_path("/v1/callbacks/biway/s3cret-token?x=1") == "/v1/callbacks/biway/***"
    assert loggable_path("/v1/contacts?api_token=abc") == "/v1/contacts"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/callbacks/smartregion//s3cret-token",
        "/v1/callbacks//s3cret-token",
        "/v1/callbacks/s3cret-token",
        "/v1/callbacks/smartregion/s3cret-token/extra/more",
        "/v1/callbacks/Smartregion/s3cret-token",
        "/v1/callbacks/smartregion/s3cret-token?token=s3cret-token",
        "/v1/callbacks/S3CRET-TOKEN/",
    ],
)
def test_malformed_callback_paths_never_show_the_token(path: str) -> None:
    shown = loggable_path(path)

    assert "s3cret" not in shown.lower()
    assert shown.startswith("/v1/callbacks/")


def test_the_event_built_for_direct_calls_is_the_one_the_gateway_sends(providers, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    now = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    gateway = Gateway(clock=lambda: now)
    gateway.load()
    sent: list[dict[str, Any]] = []
    monkeypatch.setitem(gateway._handlers, "MetaFunction", lambda event, context: sent.append(event) or {})

    gateway.handle(request("GET", "/v1/health?verbose=1&x=%41"))

    (event,) = sent
    built = api_event(
        "GET",
        "/v1/health?verbose=1&x=%41",
        headers=[("Content-Type", "application/json")],
        now=now,
        request_id=event["requestContext"]["requestId"],
    )
    assert built == event
    assert event["queryStringParameters"] == {"verbose": "1", "x": "A"}
    assert event["requestContext"]["time"] == "27/Nov/2026:10:00:00 +0000"


def test_in_process_invocations_take_turns() -> None:
    running: list[int] = []
    overlap: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        running.append(1)
        overlap.append(len(running))
        time.sleep(0.005)
        running.pop()

    threads = [threading.Thread(target=invoke, args=(handler, {}, FakeLambdaContext)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert overlap == [1] * 8


def test_the_lambda_context_counts_down_from_the_functions_timeout() -> None:
    now = [100.0]
    context = FakeLambdaContext(function_name="MetaFunction", timeout_ms=3_000, clock=lambda: now[0])
    now[0] += 1.25

    assert context.get_remaining_time_in_millis() == 1_750
    assert context.invoked_function_arn == "arn:aws:lambda:eu-west-1:123456789012:function:MetaFunction"
    now[0] += 10
    assert context.get_remaining_time_in_millis() == 0
