"""Imbee access tokens (POST /v1/chat-tokens) and chats (POST /v1/conversations), Given/When/Then."""

from __future__ import annotations

import json

import httpx
import pytest

import messaging_handler
import registrations_handler
from local.simulators.imbee import ImbeeSimulator
from tests.simulated import SimulatorFake
from tests.support import FakeLambdaContext, api_event, body_of
from tests.unit.conftest import table_items

AUTH, CORPORATE = "imbee-test-auth", "imbee-test-corporate-token"


@pytest.fixture
def simulator(imbee: SimulatorFake) -> ImbeeSimulator:
    assert isinstance(imbee.simulator, ImbeeSimulator)
    return imbee.simulator


def register(unique_id: str, context: FakeLambdaContext) -> dict:
    event = api_event("POST", "/v1/registrations", body={"provider": "imbee", "unique_id_sha": unique_id})
    response = registrations_handler.lambda_handler(event, context)
    assert response["statusCode"] == 201, response["body"]
    registration: dict = body_of(response)
    return registration


@pytest.fixture
def alice(imbee, context) -> dict:  # type: ignore[no-untyped-def]
    return register("alice-sha", context)


@pytest.fixture
def bob(imbee, context) -> dict:  # type: ignore[no-untyped-def]
    return register("bob-sha", context)


def post(path: str, body: dict, context: FakeLambdaContext, headers: dict[str, str] | None = None) -> dict:
    return messaging_handler.lambda_handler(api_event("POST", path, body=body, headers=headers), context)


def get(message_id: str, context: FakeLambdaContext) -> dict:
    event = api_event("GET", f"/v1/messages/{message_id}", route="/v1/messages/{id}")
    return messaging_handler.lambda_handler(event, context)


def token_request(alice: dict, **extra: object) -> dict:
    return {
        "provider": "imbee",
        "virtual_user": alice["provider_ref"],
        "bot_idsha": "bot-1",
        "mail": "alice@example.org",
        **extra,
    }


def calls_to(imbee: SimulatorFake, path: str) -> list[httpx.Request]:
    return [r for r in imbee.requests if r.url.path == path]


# -- access tokens ------------------------------------------------------------------------------


def test_an_access_token_is_created_with_the_documented_call(imbee, alice, context) -> None:
    # When an access token is asked for Alice, by SMS, with limits
    body = token_request(alice, mail=None, cellular="+34600000000", max_retries=3, date_limit="2099-12-31")
    response = post("/v1/chat-tokens", {k: v for k, v in body.items() if v is not None}, context)

    # Then Imbee got POST /token/new with the corporate token and its own field spellings
    assert response["statusCode"] == 201, response["body"]
    (request,) = calls_to(imbee, "/token/new")
    assert request.headers["authorization"] == AUTH
    assert request.headers["x-woos-key"] == CORPORATE
    assert json.loads(request.content) == {
        "virtual_user": alice["provider_ref"],
        "bot_idsha": "bot-1",
        "celullar": "+34600000000",
        "max_retries": 3,
        "date_limit": "2099-12-31",
    }
    # And the URL is answered, the record keeps only what is not a credential
    token = body_of(response)
    assert token["url"]
    assert (token["provider"], token["kind"], token["status"]) == ("imbee", "access_token", "created")
    assert token["details"]["sent_by"] == ["sms"]
    assert token["details"]["max_retries"] == 3
    assert token["url"] not in json.dumps(table_items())
    read_back = body_of(get(token["id"], context))
    assert "url" not in read_back
    assert read_back["details"] == token["details"]


def test_asking_again_for_a_valid_token_is_a_200(imbee, alice, context) -> None:
    first = post("/v1/chat-tokens", token_request(alice), context)

    again = post("/v1/chat-tokens", token_request(alice), context)

    assert (first["statusCode"], again["statusCode"]) == (201, 200)
    assert body_of(again)["url"] == body_of(first)["url"]
    assert body_of(again)["details"]["previously_created"] is True


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"mail": None}, "body"),
        ({"date_limit": "31/12/2099"}, "date_limit"),
        ({"max_retries": 0}, "max_retries"),
        ({"mail": "not-an-address"}, "mail"),
        ({"cellular": "call me"}, "cellular"),
        ({"celullar": "+34600000000"}, "celullar"),
        ({"virtual_user": ""}, "virtual_user"),
    ],
)
def test_invalid_token_requests_are_422_and_reach_no_one(imbee, alice, context, change, field) -> None:
    body = {k: v for k, v in {**token_request(alice), **change}.items() if v is not None}

    response = post("/v1/chat-tokens", body, context)

    assert response["statusCode"] == 422, response["body"]
    assert field in {e["field"] for e in body_of(response)["errors"]}
    assert calls_to(imbee, "/token/new") == []


def test_imbee_refusing_a_token_is_a_422_with_its_code(imbee, context) -> None:
    response = post("/v1/chat-tokens", {**token_request({"provider_ref": "nobody"})}, context)

    assert response["statusCode"] == 422
    problem = body_of(response)
    assert (problem["provider"], problem["provider_code"]) == ("imbee", "1")
    assert [i for i in table_items() if i["pk"]["S"].startswith("MSG")] == []


def test_a_token_request_is_not_repeated_after_a_timeout(imbee, alice, context) -> None:
    imbee.script = [httpx.ReadTimeout("slow")]

    response = post("/v1/chat-tokens", token_request(alice), context)

    assert response["statusCode"] == 504
    assert len(calls_to(imbee, "/token/new")) == 1


# -- chats ----------------------------------------------------------------------------------------


def test_a_chat_is_opened_with_the_first_users_own_apikey(imbee, simulator, alice, bob, context) -> None:
    # When Alice opens a chat with Bob
    body = {"provider": "imbee", "registration_id": alice["id"], "contacts": [bob["provider_ref"]]}
    response = post("/v1/conversations", body, context)

    # Then Imbee got /chat/create with Alice's apikey as X-WOOS-KEY, never the corporate token
    assert response["statusCode"] == 201, response["body"]
    (request,) = calls_to(imbee, "/chat/create")
    assert request.headers["x-woos-key"] == simulator.users["alice-sha"].apikey
    assert request.headers["x-woos-key"] != CORPORATE
    assert request.headers["authorization"] == AUTH
    assert json.loads(request.content) == {"type": "chat", "contacts": [{"idsha": bob["provider_ref"]}]}
    # And the chat is stored under Imbee's conversation id
    chat = body_of(response)
    assert (chat["kind"], chat["status"], chat["recipients"]) == ("chat", "created", 1)
    assert chat["provider_ref"]
    assert chat["details"]["opened_by"] == alice["provider_ref"]
    assert {m["idsha"] for m in chat["details"]["members"]} == {alice["provider_ref"], bob["provider_ref"]}


def test_opening_the_same_chat_again_answers_the_stored_one(imbee, alice, bob, context) -> None:
    body = {"provider": "imbee", "registration_id": alice["id"], "contacts": [bob["provider_ref"]]}
    first = post("/v1/conversations", body, context)

    again = post("/v1/conversations", body, context)

    assert (first["statusCode"], again["statusCode"]) == (201, 200)
    assert body_of(again) == body_of(first)
    assert len([i for i in table_items() if i["pk"]["S"].startswith("MSG#")]) == 1


def test_the_users_credentials_never_leave_the_gateway(imbee, simulator, alice, bob, context, capsys) -> None:
    body = {"provider": "imbee", "registration_id": alice["id"], "contacts": [bob["provider_ref"]]}
    response = post("/v1/conversations", body, context)

    user = simulator.users["alice-sha"]
    logged = capsys.readouterr()
    for secret in (user.apikey, user.password):
        assert secret not in response["body"]
        assert secret not in logged.out + logged.err
        assert secret not in json.dumps(table_items())


def test_an_unknown_registration_is_a_404_and_imbee_is_not_called(imbee, context) -> None:
    body = {"provider": "imbee", "registration_id": "no-such-registration", "contacts": ["x"]}

    response = post("/v1/conversations", body, context)

    assert response["statusCode"] == 404
    assert body_of(response)["title"] == "Imbee user not found"
    assert imbee.requests == []


def test_a_registration_of_another_provider_is_not_an_imbee_user(imbee, alice, context) -> None:
    from chatbridge.clock import derived_id

    smartregion_id = derived_id("smartregion", "p", "c", "u")
    body = {"provider": "imbee", "registration_id": smartregion_id, "contacts": ["x"]}

    assert post("/v1/conversations", body, context)["statusCode"] == 404


def test_an_unknown_contact_is_imbees_refusal(imbee, alice, context) -> None:
    body = {"provider": "imbee", "registration_id": alice["id"], "contacts": ["stranger"]}

    response = post("/v1/conversations", body, context)

    assert response["statusCode"] == 422
    assert body_of(response)["provider_code"] == "1"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"contacts": []}, "contacts"),
        ({"contacts": ["a", "a"]}, "body"),
        ({"contacts": "bob"}, "contacts"),
        ({"registration_id": ""}, "registration_id"),
        ({"type": "group"}, "type"),
    ],
)
def test_invalid_chat_requests_are_422_and_reach_no_one(imbee, alice, context, body, field) -> None:
    request = {"provider": "imbee", "registration_id": alice["id"], "contacts": ["bob"], **body}

    response = post("/v1/conversations", request, context)

    assert response["statusCode"] == 422
    assert field in {e["field"] for e in body_of(response)["errors"]}
    assert calls_to(imbee, "/chat/create") == []
