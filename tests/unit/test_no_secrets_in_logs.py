"""No webhook token and no API key in any log line, on any path, malformed ones included.

Every handler runs at DEBUG with requests carrying canary values where a token or key goes (and
where they should not go); then everything written to stdout/stderr and to Python logging is
searched for them. The test also checks it did capture log lines, so it cannot pass by hearing nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

import admin_handler
import authorizer_handler
import callbacks_handler
import messaging_handler
import registrations_handler
from chatbridge.access import SCOPES, authorizer_context
from chatbridge.logic.api_keys import issue_api_key
from chatbridge.observability import logger
from tests.support import api_event, body_of
from tests.unit.conftest import CALLBACK_TOKENS

TOKEN = "canary-webhook-token-5f1e"
KEY = "cbk_canary-api-key-0b7d2c"
ROUTE = "/v1/callbacks/{provider}/{token}"

MALFORMED_CALLBACK_PATHS = [
    f"/v1/callbacks/smartregion//{TOKEN}",
    f"/v1/callbacks//{TOKEN}",
    f"/v1/callbacks/{TOKEN}",
    f"/v1/callbacks/{TOKEN}/smartregion",
    f"/v1/callbacks/smartregion/{TOKEN}/extra",
    f"/v1/callbacks/smartregion/{TOKEN}%2F..%2F",
    f"/v1/callbacks/nosuchprovider/{TOKEN}",
    f"/v1/callbacks/smartregion/{TOKEN}",  # well formed, wrong token
    f"/v1/callbacks/smartregion/{TOKEN}?token={TOKEN}",
]


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    previous = logger.log_level
    logger.setLevel("DEBUG")
    caplog.set_level(logging.DEBUG)
    yield
    logger.setLevel(previous)


def callback(path: str, context: Any, body: str = '{"event": "connection", "user_id": "u"}') -> dict[str, Any]:
    event = api_event("POST", path.partition("?")[0], route=ROUTE, body=body, authorizer=None)
    event["rawQueryString"] = path.partition("?")[2]
    response: dict[str, Any] = callbacks_handler.lambda_handler(event, context)
    return response


def everything_logged(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> str:
    out, err = capfd.readouterr()
    return "\n".join([out, err, caplog.text, *(str(r.__dict__) for r in caplog.records)])


def test_malformed_callback_paths_log_no_token(providers, context, debug_logs, capfd, caplog) -> None:
    real = CALLBACK_TOKENS["smartregion"]
    for path in MALFORMED_CALLBACK_PATHS:
        response = callback(path, context)
        assert response["statusCode"] in (401, 404), (path, response["body"])
    # the real token, on a body we refuse and on one we store
    assert callback(f"/v1/callbacks/smartregion/{real}", context, body="{not json")["statusCode"] == 400
    assert callback(f"/v1/callbacks/smartregion/{real}", context)["statusCode"] == 200

    logged = everything_logged(capfd, caplog)

    assert "request refused" in logged  # the refusals were logged, without the token
    assert TOKEN not in logged
    assert real not in logged


def test_api_keys_are_never_logged_on_any_path(providers, context, debug_logs, capfd, caplog) -> None:
    issued = issue_api_key("bot", scopes=["registrations:read"])
    for key in (KEY, issued.key, "", "x" * 300):
        authorizer_handler.lambda_handler({"headers": {"x-api-key": key}}, context)
    weird = [f"/v1/registrations//{KEY}", f"/v1/registrations/{KEY}", f"/v1/{KEY}", "/v1/registrations/%00"]
    for path in weird:
        event = api_event("GET", path, headers={"x-api-key": KEY}, authorizer={"authenticated": False})
        registrations_handler.lambda_handler(event, context)
        event = api_event("GET", path, headers={"x-api-key": issued.key})
        registrations_handler.lambda_handler(event, context)
    messaging_handler.lambda_handler(
        api_event("POST", "/v1/messages", body="{", headers={"x-api-key": issued.key}), context
    )

    logged = everything_logged(capfd, caplog)

    assert "API key refused" in logged
    assert KEY not in logged
    assert issued.key not in logged
    assert issued.key.removeprefix("cbk_")[:16] not in logged


def test_a_created_key_is_not_logged_by_the_admin_function(aws, context, debug_logs, capfd, caplog) -> None:
    admin = authorizer_context("adm000000001", "ops", SCOPES, [], None)
    event = api_event("POST", "/v1/api-keys", body={"name": "bot", "scopes": ["events:read"]}, authorizer=admin)

    response = admin_handler.lambda_handler(event, context)
    created = body_of(response)["key"]
    logged = everything_logged(capfd, caplog)

    assert response["statusCode"] == 201
    assert created not in logged
