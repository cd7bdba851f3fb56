"""The served Bi-way simulator posts its callbacks from a background thread, retrying non-2xx answers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from local.simulators.biway import DEMO_API_KEY, BiwaySimulator


class Receiver:
    """A callback endpoint on 127.0.0.1 answering the statuses it is told to, in order, then 200."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                receiver.received.append(json.loads(self.rfile.read(length)))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/callbacks/biway/tok"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def biway(receiver: Receiver) -> Iterator[httpx.Client]:
    simulator = BiwaySimulator(state_delay=0.05, retry_delay=0.05, callback_attempts=3).start()
    headers = {"Authorization": f"Bearer {DEMO_API_KEY}"}
    with httpx.Client(base_url=simulator.url, headers=headers, timeout=5) as client:
        client.post("/system/callback", json={"url": receiver.url, "token": "tok"}).raise_for_status()
        client.simulator = simulator  # type: ignore[attr-defined]
        yield client
    simulator.stop()


def simulator_of(client: httpx.Client) -> BiwaySimulator:
    simulator: BiwaySimulator = client.simulator  # type: ignore[attr-defined]
    return simulator


def test_reports_of_a_submit_arrive_in_order_at_the_registered_url(biway: httpx.Client, receiver: Receiver) -> None:
    sent = biway.post("/messenger/submit", json={"recipient": "+33670000000", "text": "Bonjour"}).json()

    assert simulator_of(biway).wait_for_deliveries(timeout=5)
    assert [(r["resource_id"], r["state"], r["recipient"]) for r in receiver.received] == [
        (sent["id"], "sent", "+33670000000"),
        (sent["id"], "delivered", "+33670000000"),
        (sent["id"], "read", "+33670000000"),
    ]


def test_a_refused_callback_is_retried_then_given_up(biway: httpx.Client, receiver: Receiver) -> None:
    receiver.statuses = [500, 503, 500, 500]

    account = biway.post("/system/account", json={"email": "jeanne@example.fr"}).json()

    assert simulator_of(biway).wait_for_deliveries(timeout=5)
    deliveries = simulator_of(biway).deliveries
    assert [(d.status, d.attempt) for d in deliveries] == [(500, 1), (503, 2), (500, 3)]
    assert all(r["resource_id"] == account["id"] and r["event"] == "ACCOUNT_STATE" for r in receiver.received)
    assert len({r["event_id"] for r in receiver.received}) == 1  # the same event each time: receivers dedupe


def test_a_callback_succeeds_after_a_transient_failure(biway: httpx.Client, receiver: Receiver) -> None:
    receiver.statuses = [502]

    biway.post("/chatbot/agent", json={"name": "SAV"})

    assert simulator_of(biway).wait_for_deliveries(timeout=5)
    assert [(d.status, d.attempt) for d in simulator_of(biway).deliveries] == [(502, 1), (200, 2)]


def test_opening_a_chat_token_reports_read(biway: httpx.Client, receiver: Receiver) -> None:
    token = biway.post("/chatbot/token", json={"agent_id": "agt_demo", "recipient": "+33670000000"}).json()

    opened = httpx.get(f"{biway.base_url}/chat/{token['token']}")

    assert opened.status_code == 200
    assert simulator_of(biway).wait_for_deliveries(timeout=5)
    assert [(r["event"], r["resource_id"], r["state"]) for r in receiver.received] == [
        ("MESSENGER_REPORT", token["id"], "read")
    ]
