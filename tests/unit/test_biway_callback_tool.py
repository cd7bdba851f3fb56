"""`python -m tools.biway_callback`: registers <ApiUrl>/v1/callbacks/biway/<token> with Bi-way."""

from __future__ import annotations

import json

import boto3
import pytest

from local.simulators.biway import BiwaySimulator
from tests.simulated import SimulatorFake
from tests.unit.conftest import CALLBACK_TOKENS
from tools import biway_callback

API_URL = "https://abc123.execute-api.eu-west-1.amazonaws.com/"


def test_the_callback_url_carries_the_webhook_token(biway: SimulatorFake) -> None:
    answer = biway_callback.register(API_URL)

    assert answer.status_code == 200
    (request,) = biway.requests
    assert str(request.url) == "https://biway.test/system/callback"
    assert request.headers["authorization"] == "Bearer biway-test-key"
    token = CALLBACK_TOKENS["biway"]
    expected_url = f"https://abc123.execute-api.eu-west-1.amazonaws.com/v1/callbacks/biway/{token}"
    assert json.loads(request.content) == {"url": expected_url, "token": token}
    assert isinstance(biway.simulator, BiwaySimulator)
    assert biway.simulator.callback_urls["biway-test-key"]["url"] == expected_url


def test_each_connection_registers_with_its_own_key(biway: SimulatorFake) -> None:
    assert isinstance(biway.simulator, BiwaySimulator)
    biway.simulator.api_keys["shop-key"] = frozenset({"user"})
    boto3.client("secretsmanager").create_secret(
        Name="chatbridge/biway/shop", SecretString=json.dumps({"api_key": "shop-key", "base_url": "https://biway.test"})
    )

    biway_callback.register(API_URL, connection="shop")

    assert biway.requests[0].headers["authorization"] == "Bearer shop-key"


def test_the_command_never_prints_the_token(biway: SimulatorFake, capsys: pytest.CaptureFixture[str]) -> None:
    code = biway_callback.main(["--api-url", API_URL])

    printed = capsys.readouterr()
    assert code == 0
    assert "/v1/callbacks/biway/<token>" in printed.out
    assert CALLBACK_TOKENS["biway"] not in printed.out + printed.err


def test_the_command_fails_when_bi_way_refuses(biway: SimulatorFake, capsys: pytest.CaptureFixture[str]) -> None:
    assert isinstance(biway.simulator, BiwaySimulator)
    biway.simulator.api_keys.clear()

    code = biway_callback.main(["--api-url", API_URL])

    assert code == 1
    assert "Bi-way refused our credentials" in capsys.readouterr().err
