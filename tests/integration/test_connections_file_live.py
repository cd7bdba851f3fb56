"""`make dev` with a connections file: the providers it names are real, the others simulated.

"Real" accounts are played by simulators of their own, started here with credentials the local
stack's simulators do not accept: a call that reached the stack's simulator instead would be
refused. Bi-way's state of the art: make dev must not register its 127.0.0.1 callback URL at a
real Bi-way account.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from local.simulators.biway import PARTNER, USER, BiwaySimulator
from local.simulators.watbot import WatbotSimulator
from tests.integration.make_dev import make_dev, run_to_exit

REAL_WATBOT_TOKEN = "operator-own-watbot-token"
REAL_BIWAY_KEY = "operator-own-biway-key"
FILE_TOKEN = "file-token-for-smartregion-0123456789"


@pytest.fixture(scope="module")
def real_accounts() -> Iterator[tuple[WatbotSimulator, BiwaySimulator]]:
    watbot = WatbotSimulator({REAL_WATBOT_TOKEN}, rate_limit=None)
    watbot.add_contact("Only At The Real Account", phone="+79990000099", created_at=1_700_000_000)
    biway = BiwaySimulator({REAL_BIWAY_KEY: frozenset({PARTNER, USER})}, state_delay=0.2)
    watbot.start()
    biway.start()
    try:
        yield watbot, biway
    finally:
        watbot.stop()
        biway.stop()


def test_named_providers_are_real_and_the_others_simulated(
    tmp_path: Path, real_accounts: tuple[WatbotSimulator, BiwaySimulator]
) -> None:
    watbot, biway = real_accounts
    connections = tmp_path / "connections.json"
    connections.write_text(
        json.dumps(
            {
                "watbot": {"default": {"api_token": REAL_WATBOT_TOKEN, "base_url": watbot.url}},
                "biway": {"default": {"api_key": REAL_BIWAY_KEY, "base_url": biway.url}},
                "callbacks": {"smartregion": FILE_TOKEN},
            }
        ),
        encoding="utf-8",
    )
    with make_dev(tmp_path / "repo", "--connections", str(connections)) as dev:
        api = httpx.Client(base_url=dev.api_url, headers={"x-api-key": dev.api_key}, timeout=30)
        contacts = api.get("/v1/contacts").json()["items"]
        assert [c["name"] for c in contacts] == ["Only At The Real Account"]
        sent = api.post("/v1/messages", json={"provider": "biway", "recipient": "+33670000000", "text": "Bonjour"})
        assert sent.status_code == 201
        assert biway.calls("/messenger/submit")
        # never told our 127.0.0.1 URL
        assert not biway.calls("/system/callback")
        # a simulated provider still answers as the simulator does
        smartregion = api.post(
            "/v1/registrations", json={"provider": "smartregion", "user_id": "tg-1", "payload": "PAYLOAD123"}
        )
        assert smartregion.status_code == 201
        # the file's webhook token is the one the callback route accepts
        called_back = httpx.post(
            f"{dev.api_url}/v1/callbacks/smartregion/{FILE_TOKEN}",
            json={"event": "connection", "user_id": "tg-1", "project_id": "demo-project", "channel_id": "demo-channel"},
        )
        assert called_back.status_code == 200
        log = dev.log
    assert "Watbot       REAL account from" in log
    assert "Bi-way       REAL account from" in log
    assert "Smartico     simulator at" in log
    assert "NOT given this 127.0.0.1 URL" in log
    assert FILE_TOKEN not in log  # the operator's token is read from the file, not printed
    assert REAL_WATBOT_TOKEN not in log and REAL_BIWAY_KEY not in log


def test_a_refused_file_stops_make_dev_before_anything_starts(tmp_path: Path) -> None:
    connections = tmp_path / "connections.json"
    connections.write_text(
        json.dumps({"biway": {"default": {"api_key": "k-9f8e7d6c5b4a"}}, "telegram": {}}), encoding="utf-8"
    )
    result = run_to_exit(tmp_path / "repo", "--connections", str(connections))
    assert result.returncode == 1
    assert "biway/default: missing field 'base_url'" in result.stderr
    assert "unknown provider 'telegram'" in result.stderr
    assert "Traceback" not in result.stderr
    assert "k-9f8e7d6c5b4a" not in result.stderr + result.stdout
    assert "Chatbridge local stack" not in result.stdout
