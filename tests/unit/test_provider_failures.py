"""A provider's failure is ours to report as such (5xx: 502), and a provider's words never carry
back what we sent it as secret, into our answers or our logs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import messaging_handler
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
