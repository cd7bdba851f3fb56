"""A provider's failure is ours to report as such (5xx: 502), and a provider's words never carry
back what we sent it as secret, into our answers or our logs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import messaging_handler
from chatbridge.integrations.http import provider_said_beyond
from local.simulators.imbee import ImbeeSimulator
from local.simulators.smartico import SmarticoSimulator
from tests.simulated import SimulatorFake
from tests.support import FakeLambdaContext, api_event, body_of, post_registration
from tests.unit.conftest import table_items
from tests.unit.test_registrations_smartico import AFFILIATE

PASSWORD = 'Q!w2e"3r4Secret'  # a quote: JSON-escaped when echoed
TOKEN = str(AFFILIATE["token"])
IMBEE_USER = {"provider": "imbee", "unique_id_sha": "sha-1"}
IMBEE_TOKEN = {"provider": "imbee", "virtual_user": "vu-1", "bot_idsha": "bot-1", "mail": "a@example.org"}


def imbee_simulator(fake: SimulatorFake) -> ImbeeSimulator:
    assert isinstance(fake.simulator, ImbeeSimulator)
    return fake.simulator


def post_message(path: str, body: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = messaging_handler.lambda_handler(api_event("POST", path, body=body), FakeLambdaContext())
    return response


@pytest.mark.parametrize("status", [500, 503])
def test_imbee_5xx_with_its_error_code_is_imbee_failing_a_502_not_a_refusal(imbee, status: int) -> None:
    simulator = imbee_simulator(imbee)
    for _ in range(3):
        simulator.answer_next(1, "Internal error", status=status)

    response = post_registration(IMBEE_USER, FakeLambdaContext())

    assert response["statusCode"] == 502, response["body"]
    problem = body_of(response)
    assert (problem["title"], problem["provider_code"]) == ("Imbee is unavailable", str(status))
    # a user creation is safe to repeat (Imbee dedupes it): three attempts
    assert len(simulator.calls("/third_parties/user/new")) == 3


def test_imbee_5xx_to_a_token_is_a_502_after_one_call(imbee) -> None:
    simulator = imbee_simulator(imbee)
    simulator.answer_next(1, "Internal error", status=503)

    response = post_message("/v1/chat-tokens", IMBEE_TOKEN)

    assert response["statusCode"] == 502
    assert len(simulator.calls("/token/new")) == 1


def test_imbee_code_1_with_http_200_is_still_its_refusal(imbee) -> None:
    imbee_simulator(imbee).answer_next(1, "virtual_user not found")

    response = post_message("/v1/chat-tokens", IMBEE_TOKEN)

    assert response["statusCode"] == 422
    assert body_of(response)["title"] == "Imbee rejected the request"


def test_smartico_echoing_the_password_and_token_leaks_neither(smartico, capsys) -> None:
    simulator = smartico.simulator
    assert isinstance(simulator, SmarticoSimulator)
    as_json = PASSWORD.replace('"', '\\"')
    echoed = f'form {{"password": "{as_json}", "token": "{TOKEN}"}} not valid'
    simulator.answer_next(-2, errMsg=echoed)

    response = post_registration({**AFFILIATE, "password": PASSWORD}, FakeLambdaContext())

    assert response["statusCode"] == 422
    detail = body_of(response)["detail"]
    assert "Smartico said: form" in detail
    assert "[redacted]" in detail
    logged = capsys.readouterr()
    for secret in (PASSWORD, PASSWORD.replace('"', '\\"'), TOKEN):
        assert secret not in response["body"] + logged.out + logged.err


def test_bi_way_echoing_our_api_key_leaks_it_nowhere(biway, capsys) -> None:
    biway.script = [httpx.Response(500, json={"error": "upstream got Authorization: Bearer biway-test-key"})]

    response = post_message("/v1/messages", {"provider": "biway", "recipient": "+33670000000", "text": "x"})

    assert response["statusCode"] == 502
    logged = capsys.readouterr()
    assert "upstream got Authorization: Bearer [redacted]" in body_of(response)["detail"]
    assert "biway-test-key" not in response["body"] + logged.out + logged.err
    assert table_items() == []


# -- a refusal names the provider's code once, with our explanation ----------------------------------


@pytest.mark.parametrize(
    ("said", "detail", "code", "kept"),
    [
        ("USERNAME_ALREADY_EXISTS", "Smartico answered USERNAME_ALREADY_EXISTS: choose another.", -7, ""),
        ("username_already_exists.", "Smartico answered USERNAME_ALREADY_EXISTS: choose another.", -7, ""),
        ("Conflict", "Bi-way answered 409 to /v1/x: it already holds this resource.", 409, ""),
        ("Not Found", "Watbot answered 404 to get-tags: the contact does not exist.", 404, ""),
        ("1", "Imbee answered code 1 to /x: the request was not processed.", 1, ""),
        ("  ", "Imbee answered code 1 to /x.", 1, ""),
        (
            "virtual_user not found",
            "Imbee answered code 1 to /x: the request was not processed.",
            1,
            "virtual_user not found",
        ),
        (
            "Username john_doe is taken",
            "Smartico answered USERNAME_ALREADY_EXISTS: choose another.",
            -7,
            "Username john_doe is taken",
        ),
        ("Здравствуйте 👋", "Watbot answered 400 to set-variable: the input was refused.", 400, "Здравствуйте 👋"),
    ],
)
def test_a_providers_message_is_kept_only_when_it_adds_to_our_detail(
    said: str, detail: str, code: int, kept: str
) -> None:
    assert provider_said_beyond(said, detail, code) == kept


def test_smartico_answering_its_code_as_message_names_the_code_once(smartico) -> None:
    simulator = smartico.simulator
    assert isinstance(simulator, SmarticoSimulator)
    simulator.answer_next(-7, errMsg="USERNAME_ALREADY_EXISTS")

    response = post_registration(AFFILIATE, FakeLambdaContext())

    assert response["statusCode"] == 409, response["body"]
    problem = body_of(response)
    assert problem["detail"] == "Smartico answered USERNAME_ALREADY_EXISTS: choose another username."
    assert problem["provider_code"] == "-7"


def test_smartico_saying_more_than_its_code_is_quoted(smartico) -> None:
    simulator = smartico.simulator
    assert isinstance(simulator, SmarticoSimulator)
    simulator.answer_next(-7, errMsg="username affiliate42 is taken")

    detail = body_of(post_registration(AFFILIATE, FakeLambdaContext()))["detail"]

    assert detail.count("USERNAME_ALREADY_EXISTS") == 1
    assert detail.endswith("Smartico said: username affiliate42 is taken")


def test_bi_way_answering_the_reason_phrase_of_its_status_is_not_repeated(biway) -> None:
    biway.script = [httpx.Response(409, json={"error": "Conflict"})]

    response = post_message("/v1/messages", {"provider": "biway", "recipient": "+33670000000", "text": "x"})

    assert response["statusCode"] == 409, response["body"]
    detail = body_of(response)["detail"]
    assert "Bi-way said" not in detail and "Conflict" not in detail
    assert "409" in detail and "already holds this resource" in detail
