"""Answers are UTF-8 JSON: Cyrillic and emoji as themselves, never `\\u0417`-escaped; a lone
surrogate a provider sends becomes U+FFFD instead of failing the answer (Given/When/Then)."""

from __future__ import annotations

import json

import httpx
import pytest

import contacts_handler
import messaging_handler
from chatbridge.edge.serializer import REPLACEMENT_CHARACTER, json_text
from local.simulators.watbot import WatbotSimulator
from tests.simulated import SimulatorFake
from tests.support import FakeLambdaContext, api_event, body_of

GREETING = "Здравствуйте 👋"


def test_json_text_keeps_characters_and_replaces_lone_surrogates_only() -> None:
    text = json_text({"greeting": GREETING, "broken": "a\ud800b", "pair": "\U0001f680"})

    assert text == '{"greeting":"Здравствуйте 👋","broken":"a\ufffdb","pair":"🚀"}'
    text.encode("utf-8")  # sendable: this raises for a lone surrogate
    assert json.loads(text)["broken"] == f"a{REPLACEMENT_CHARACTER}b"


def test_a_route_answer_carries_non_ascii_as_utf8(biway, context) -> None:
    # Given a message with Cyrillic and an emoji
    body = {"provider": "biway", "recipient": "+33670000000", "text": GREETING}

    # When it is sent
    response = messaging_handler.lambda_handler(api_event("POST", "/v1/messages", body=body), context)

    # Then the answer holds the text as characters, not escapes, and stays application/json
    assert response["statusCode"] == 201, response["body"]
    assert GREETING in response["body"] and "\\u04" not in response["body"]
    assert response["headers"]["Content-Type"] == "application/json"


def test_a_problem_carries_non_ascii_as_utf8(context) -> None:
    # an unknown connection name is quoted back in the detail only as the secret's name: use a field error
    body = {"provider": "biway", "recipient": "+33670000000", "text": GREETING, "connection": "ünknown"}

    response = messaging_handler.lambda_handler(api_event("POST", "/v1/messages", body=body), context)

    assert 400 <= response["statusCode"] < 500, response["body"]
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert "\\u00fc" not in response["body"]


@pytest.fixture
def simulator(watbot: SimulatorFake) -> WatbotSimulator:
    assert isinstance(watbot.simulator, WatbotSimulator)
    return watbot.simulator


def test_a_lone_surrogate_from_a_provider_is_replaced_not_a_5xx(watbot, simulator, context, monkeypatch) -> None:
    # Given Watbot holds a contact whose name carries a lone surrogate (JSON `\ud800`), Cyrillic and emoji
    contact_id = simulator.add_contact("Мария SURROGATE 👋", phone="+79990000009", created_at=1_700_000_000)
    answer_of = watbot.handle

    def with_surrogate(request: httpx.Request) -> httpx.Response:
        answer = answer_of(request)
        content = answer.content.replace(b"SURROGATE", b"\\ud800")
        return httpx.Response(answer.status_code, content=content, headers=answer.headers)

    monkeypatch.setattr(watbot, "handle", with_surrogate)

    # When the contacts are listed
    response = contacts_handler.lambda_handler(api_event("GET", "/v1/contacts"), context)

    # Then the answer is sendable UTF-8, the surrogate replaced and the rest intact
    assert response["statusCode"] == 200, response["body"]
    response["body"].encode("utf-8")
    (listed,) = [c for c in body_of(response)["items"] if c["id"] == str(contact_id)]
    assert listed["name"] == f"Мария {REPLACEMENT_CHARACTER} 👋"


def test_a_lone_surrogate_in_a_providers_refusal_is_replaced_not_a_5xx(watbot, simulator, context) -> None:
    contact_id = simulator.add_contact("Мария", created_at=1_700_000_000)
    watbot.script = [httpx.Response(422, content='{"message": "имя \\ud800 не подходит 🙁"}'.encode())]

    response = contacts_handler.lambda_handler(
        api_event("GET", f"/v1/contacts/{contact_id}/tags", route="/v1/contacts/{id}/tags"), FakeLambdaContext()
    )

    assert response["statusCode"] == 422, response["body"]
    response["body"].encode("utf-8")
    assert f"имя {REPLACEMENT_CHARACTER} не подходит 🙁" in body_of(response)["detail"]
