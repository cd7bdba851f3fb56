"""Replies to Watbot contacts through POST /v1/messages (`sendMessage`)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

import messaging_handler
from local.simulators.watbot import WatbotSimulator
from tests.simulated import SimulatorFake
from tests.support import FakeLambdaContext, api_event, body_of
from tests.unit.conftest import table_items


@pytest.fixture
def simulator(watbot: SimulatorFake) -> WatbotSimulator:
    assert isinstance(watbot.simulator, WatbotSimulator)
    return watbot.simulator


def post(body: dict, context: FakeLambdaContext, headers: dict[str, str] | None = None) -> dict:
    return messaging_handler.lambda_handler(api_event("POST", "/v1/messages", body=body, headers=headers), context)


def test_a_reply_is_sent_to_the_contact_and_stored(watbot, simulator, context) -> None:
    response = post({"provider": "watbot", "contact_id": "1", "text": "Здравствуйте! Заказ № 5 & 6 готов 👋"}, context)

    assert response["statusCode"] == 201, response["body"]
    (request,) = watbot.requests
    assert (request.method, request.url.path) == ("POST", "/api/v1/sendMessage")
    assert parse_qs(urlsplit(str(request.url)).query) == {
        "api_token": ["wb-test-token"],
        "contact_id": ["1"],
        "text": ["Здравствуйте! Заказ № 5 & 6 готов 👋"],
    }
    message = body_of(response)
    (sent,) = simulator.contacts[1].messages
    assert message["provider_ref"] == sent["id"]
    assert (message["provider"], message["kind"], message["status"], message["recipient"]) == (
        "watbot",
        "message",
        "accepted",
        "1",
    )
    assert "wb-test-token" not in response["body"]


def test_an_image_is_sent_by_url(watbot, simulator, context) -> None:
    response = post({"provider": "watbot", "contact_id": "2", "image": "https://example.org/a.png"}, context)

    assert response["statusCode"] == 201
    assert simulator.contacts[2].messages[0]["image"] == "https://example.org/a.png"


@pytest.mark.parametrize(
    "content",
    [{}, {"text": "a", "image": "https://example.org/a.png"}, {"image": "not a url"}, {"text": ""}],
)
def test_exactly_one_content_is_required(watbot, context, content) -> None:
    response = post({"provider": "watbot", "contact_id": "1", **content}, context)

    assert response["statusCode"] == 422
    assert watbot.requests == []


def test_an_unknown_contact_is_a_404(watbot, context) -> None:
    response = post({"provider": "watbot", "contact_id": "999", "text": "hi"}, context)

    assert response["statusCode"] == 404
    assert [i for i in table_items() if i["pk"]["S"].startswith("MSG")] == []


def test_a_send_answered_5xx_is_not_repeated(watbot, context) -> None:
    watbot.script = [503]

    response = post({"provider": "watbot", "contact_id": "1", "text": "hi"}, context)

    assert response["statusCode"] == 502
    assert len(watbot.requests) == 1


def test_the_idempotency_key_sends_one_reply(watbot, simulator, context) -> None:
    body = {"provider": "watbot", "contact_id": "1", "text": "один раз"}

    first = post(body, context, {"idempotency-key": "reply-1"})
    second = post(body, FakeLambdaContext(), {"idempotency-key": "reply-1"})

    assert body_of(first) == body_of(second)
    assert len(simulator.contacts[1].messages) == 1
