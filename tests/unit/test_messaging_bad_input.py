"""Bad input on every messaging POST: a 4xx problem, nothing stored, no provider called."""

from __future__ import annotations

import json

import pytest

import messaging_handler
from tests.support import ProviderFakes, api_event, body_of
from tests.unit.conftest import table_items

PHONES = [f"+3367{n:07d}" for n in range(3)]

# (route, body, status, the fields the problem must name)
CASES = [
    ("/v1/messages", '{"provider": "biway", ', 400, None),
    ("/v1/messages", None, 422, {"body"}),
    ("/v1/messages", "[]", 422, {"body"}),
    ("/v1/messages", json.dumps({"recipient": PHONES[0]}), 422, {"provider"}),
    ("/v1/messages", json.dumps({"provider": "pigeon", "recipient": PHONES[0]}), 422, {"provider"}),
    ("/v1/messages", json.dumps({"provider": "biway"}), 422, {"recipient"}),
    ("/v1/messages", json.dumps({"provider": "biway", "recipient": "call me"}), 422, {"recipient"}),
    ("/v1/messages", json.dumps({"provider": "biway", "recipient": 33670000000}), 422, {"recipient"}),
    (
        "/v1/messages",
        json.dumps({"provider": "biway", "recipient": PHONES[0], "connection": "../x"}),
        422,
        {"connection"},
    ),
    ("/v1/messages", json.dumps({"provider": "imbee", "recipient": PHONES[0]}), 422, {"provider"}),
    ("/v1/messages", json.dumps({"provider": "watbot", "contact_id": "1", "text": "a", "x": 1}), 422, {"x"}),
    ("/v1/broadcasts", json.dumps({"provider": "biway", "recipients": []}), 422, {"recipients"}),
    ("/v1/broadcasts", json.dumps({"provider": "biway", "recipients": [PHONES[0], PHONES[0]]}), 422, {"body"}),
    ("/v1/broadcasts", json.dumps({"provider": "biway", "recipients": ["nope"]}), 422, {"recipients.0"}),
    ("/v1/broadcasts", json.dumps({"provider": "watbot", "recipients": PHONES}), 422, {"provider"}),
    ("/v1/conversations", json.dumps({"provider": "biway", "recipients": PHONES * 20}), 422, {"recipients"}),
    ("/v1/conversations", json.dumps({"provider": "biway"}), 422, {"recipients"}),
    ("/v1/conversations", json.dumps({"provider": "imbee", "contacts": ["a"]}), 422, {"registration_id"}),
    ("/v1/chat-tokens", json.dumps({"provider": "biway"}), 422, {"agent_id"}),
    ("/v1/chat-tokens", json.dumps({"provider": "imbee", "virtual_user": "u", "bot_idsha": "b"}), 422, {"body"}),
    ("/v1/templates", json.dumps({"provider": "biway"}), 422, {"name"}),
    ("/v1/templates", json.dumps({"provider": "biway", "name": "   "}), 422, {"name"}),
    ("/v1/agents", json.dumps({"provider": "biway", "name": "x" * 257}), 422, {"name"}),
    ("/v1/agents", json.dumps({"provider": "imbee", "name": "a"}), 422, {"provider"}),
]


def post_raw(path: str, body: str | None, context, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return messaging_handler.lambda_handler(api_event("POST", path, body=body, headers=headers), context)


@pytest.mark.parametrize(("path", "body", "status", "fields"), CASES)
def test_invalid_bodies_are_4xx_problems_and_reach_no_one(
    providers: ProviderFakes, context, path: str, body: str | None, status: int, fields: set[str] | None
) -> None:
    response = post_raw(path, body, context, {"idempotency-key": "bad-input"})

    assert response["statusCode"] == status, response["body"]
    assert response["headers"]["Content-Type"] == "application/problem+json"
    problem = body_of(response)
    assert problem["status"] == status
    if fields is not None:
        assert {e["field"] for e in problem["errors"]} == fields
    assert all(not fake.requests for fake in providers.fakes.values())  # type: ignore[attr-defined]
    assert table_items() == []


def test_a_huge_broadcast_body_is_a_413(providers: ProviderFakes, context) -> None:
    body = json.dumps({"provider": "biway", "recipients": PHONES, "text": "x" * (300 * 1024)})

    response = post_raw("/v1/broadcasts", body, context)

    assert response["statusCode"] == 413
    assert table_items() == []


def test_an_unknown_connection_is_a_422_naming_the_secret(providers: ProviderFakes, context) -> None:
    body = json.dumps({"provider": "biway", "recipient": PHONES[0], "connection": "staging"})

    response = post_raw("/v1/messages", body, context)

    assert response["statusCode"] == 422
    assert body_of(response)["errors"][0]["message"] == "create the secret chatbridge/biway/staging first"
    assert table_items() == []


def test_without_a_valid_api_key_nothing_runs(providers: ProviderFakes, context) -> None:
    event = api_event("POST", "/v1/messages", body={"provider": "biway", "recipient": PHONES[0]}, authorizer=None)

    response = messaging_handler.lambda_handler(event, context)

    assert response["statusCode"] == 401
    assert table_items() == []


def test_validation_problems_do_not_echo_the_input(providers: ProviderFakes, context) -> None:
    body = json.dumps({"provider": "biway", "recipient": "secret-ish-value"})

    response = post_raw("/v1/messages", body, context)

    assert "secret-ish-value" not in response["body"]


@pytest.mark.parametrize("message_id", ["x" * 65])
def test_an_overlong_message_id_is_a_422(providers: ProviderFakes, context, message_id: str) -> None:
    event = api_event("GET", f"/v1/messages/{message_id}", route="/v1/messages/{id}")

    assert messaging_handler.lambda_handler(event, context)["statusCode"] == 422


def test_a_forged_next_token_is_a_400(providers: ProviderFakes, context) -> None:
    from tests.unit.test_messaging_biway import BROADCAST

    created = body_of(post_raw("/v1/broadcasts", json.dumps(BROADCAST), context))
    event = api_event(
        "GET", f"/v1/messages/{created['id']}", route="/v1/messages/{id}", query={"next_token": "bm90LWEtdG9rZW4"}
    )

    response = messaging_handler.lambda_handler(event, context)

    assert response["statusCode"] == 400
    assert body_of(response)["errors"][0]["field"] == "next_token"
