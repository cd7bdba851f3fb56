"""The Bi-way simulator and client: every service, its refusals, and the callbacks it queues (socket-free).

The messaging calls are what engineer B's routes use; delivery over HTTP is tested in
tests/integration/test_biway_simulator_live.py.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from chatbridge.errors import ProviderAuthError, ProviderConflictError, ProviderRejectedError
from chatbridge.integrations.biway.client import (
    BiwayAccountPayload,
    BiwayAgentPayload,
    BiwayBroadcastPayload,
    BiwayCallbackPayload,
    BiwayChatTokenPayload,
    BiwayClient,
    BiwayCompanyPayload,
    BiwayConnection,
    BiwayConversationPayload,
    BiwaySubmitPayload,
    BiwayTemplatePayload,
    BiwayTesterPayload,
)
from local.simulators.biway import DEMO_AGENT_ID, PARTNER, USER, BiwaySimulator
from tests.simulated import SimulatorFake

# Calling a client outside a handler leaves its metrics unflushed between calls.
pytestmark = pytest.mark.filterwarnings("ignore:Dimension 'provider' has already been added")

KEY = "partner-and-user-key"


@pytest.fixture
def simulator() -> BiwaySimulator:
    return BiwaySimulator({KEY: frozenset({PARTNER, USER}), "user-key": frozenset({USER})}, state_delay=1.0)


@pytest.fixture
def fake(simulator: BiwaySimulator) -> SimulatorFake:
    return SimulatorFake(simulator)


def client_for(fake: SimulatorFake, key: str = KEY) -> BiwayClient:
    connection = BiwayConnection.model_validate({"api_key": key, "base_url": "https://biway.test"})
    return BiwayClient(
        connection, httpx.Client(base_url=connection.base_url, transport=httpx.MockTransport(fake.handle))
    )


@pytest.fixture
def client(fake: SimulatorFake) -> BiwayClient:
    return client_for(fake)


def payloads(simulator: BiwaySimulator) -> list[dict[str, Any]]:
    return [c.payload for c in simulator.take_callbacks()]


def test_the_callback_url_is_registered_per_account(client: BiwayClient, simulator: BiwaySimulator, fake) -> None:
    answer = client.register_callback(BiwayCallbackPayload(url="https://api.test/v1/callbacks/biway/tok", token="tok"))

    assert answer.status_code == 200
    assert simulator.callback_urls[KEY] == {"url": "https://api.test/v1/callbacks/biway/tok", "token": "tok"}
    assert fake.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_callbacks_go_to_the_url_of_the_account_that_created_the_resource(client, simulator) -> None:
    client.register_callback(BiwayCallbackPayload(url="https://api.test/cb"))

    company = client.create_company(BiwayCompanyPayload(name="Shop", siret="73282932000074"))
    (callback,) = simulator.take_callbacks()

    assert callback.url == "https://api.test/cb"
    assert callback.payload["event"] == "COMPANY_STATE"
    assert callback.payload["resource_id"] == company.reference
    assert set(callback.payload) == {"event_id", "event", "resource_id", "state", "occurred_at", "data"}


def test_creations_wait_for_verification_and_are_reported_active(client, simulator) -> None:
    answers = [
        client.create_company(BiwayCompanyPayload(name="Shop", siret="73282932000074")),
        client.create_account(BiwayAccountPayload(email="jeanne@example.fr")),
        client.create_agent(BiwayAgentPayload(name="SAV")),
    ]

    assert all(a.status_code == 201 and a.body["state"] == "pending_verification" for a in answers)
    assert [(p["event"], p["resource_id"], p["state"]) for p in payloads(simulator)] == [
        ("COMPANY_STATE", answers[0].reference, "active"),
        ("ACCOUNT_STATE", answers[1].reference, "active"),
        ("AGENT_STATE", answers[2].reference, "active"),
    ]


def test_a_tester_needs_an_active_agent_and_is_accepted_by_hand(client, simulator) -> None:
    agent = client.create_agent(BiwayAgentPayload(name="SAV"))
    with pytest.raises(ProviderRejectedError, match="not active"):
        client.register_tester(BiwayTesterPayload(agent_id=str(agent.reference), phone="33670000000"))
    simulator.take_callbacks()  # the agent's own verification

    tester = client.register_tester(BiwayTesterPayload(agent_id=DEMO_AGENT_ID, phone="+33670000000"))

    assert tester.body["state"] == "pending_verification"
    (report,) = payloads(simulator)
    assert (report["event"], report["resource_id"], report["state"]) == ("TESTER_STATE", tester.reference, "accepted")


def test_states_can_be_changed_by_hand(client, simulator) -> None:
    simulator.auto_verify = False
    account = client.create_account(BiwayAccountPayload(email="jeanne@example.fr"))
    assert payloads(simulator) == []

    simulator.change_state(str(account.reference), "rejected", reason="incomplete")

    (callback,) = payloads(simulator)
    assert (callback["event"], callback["state"], callback["data"]) == (
        "ACCOUNT_STATE",
        "rejected",
        {"reason": "incomplete"},
    )


def test_a_submit_is_reported_sent_delivered_read_in_time_order(client, simulator) -> None:
    answer = client.submit(BiwaySubmitPayload(recipient="+33670000000", text="Bonjour"))

    reports = payloads(simulator)

    assert answer.status_code == 201 and answer.body["state"] == "accepted"
    assert [(r["event"], r["state"], r["recipient"]) for r in reports] == [
        ("MESSENGER_REPORT", "sent", "+33670000000"),
        ("MESSENGER_REPORT", "delivered", "+33670000000"),
        ("MESSENGER_REPORT", "read", "+33670000000"),
    ]
    assert all(r["resource_id"] == answer.reference for r in reports)
    assert [r["occurred_at"] for r in reports] == sorted(r["occurred_at"] for r in reports)


def test_conversations_and_broadcasts_report_per_recipient_and_failures(client, simulator) -> None:
    simulator.failing_recipients.add("33670000002")

    conversation = client.conversation(BiwayConversationPayload(recipients=["+33670000001", "+33670000002"], text="Hi"))
    broadcast = client.broadcast(
        BiwayBroadcastPayload(recipients=[f"3368000{i:04d}" for i in range(100)], text="Promo")
    )

    reports = payloads(simulator)
    assert conversation.body["recipients"] == 2 and broadcast.body["recipients"] == 100
    by_conversation = [(r["recipient"], r["state"]) for r in reports if r["resource_id"] == conversation.reference]
    assert ("+33670000002", "failed") in by_conversation
    assert ("+33670000002", "delivered") not in by_conversation
    assert ("+33670000001", "read") in by_conversation
    assert sum(1 for r in reports if r["resource_id"] == broadcast.reference) == 300


def test_too_many_recipients_are_refused(client) -> None:
    with pytest.raises(ProviderRejectedError, match="at most 50"):
        client.conversation(BiwayConversationPayload(recipients=[f"336700000{i:02d}" for i in range(51)]))


def test_a_chat_token_reports_read_when_used(client, simulator, fake) -> None:
    answer = client.create_chat_token(BiwayChatTokenPayload(agent_id=DEMO_AGENT_ID, recipient="+33670000000"))
    token = answer.body["token"]
    assert answer.body["url"].endswith(token)

    opened = fake.handle(httpx.Request("GET", f"https://biway.test/chat/{token}"))

    assert opened.status_code == 200
    (report,) = payloads(simulator)
    assert (report["event"], report["resource_id"], report["state"]) == ("MESSENGER_REPORT", answer.reference, "read")
    with pytest.raises(KeyError):
        simulator.use_chat_token("unknown")


def test_templates_are_created_active(client) -> None:
    answer = client.create_template(BiwayTemplatePayload(name="rappel", text="Rappel {{date}}"))

    assert (answer.status_code, answer.body["state"]) == (201, "active")
    assert answer.reference and answer.reference.startswith("tpl_")


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/client/company", {"name": "Shop"}, 422),
        ("/client/company", {"name": "Shop", "siret": "123"}, 422),
        ("/system/account", {"email": "nope"}, 422),
        ("/messenger/rcs-tester", {"agent_id": DEMO_AGENT_ID, "phone": "abc"}, 422),
        ("/messenger/rcs-tester", {"agent_id": "agt_x", "phone": "33670000000"}, 404),
        ("/chatbot/token", {"agent_id": "agt_x"}, 404),
        ("/messenger/submit", {"text": "no recipient"}, 422),
        ("/messenger/broadcast", {"recipients": []}, 422),
        ("/system/callback", {"url": "ftp://x"}, 422),
    ],
)
def test_missing_or_invalid_fields_are_refused(fake, path: str, body: dict[str, Any], status: int) -> None:
    response = fake.handle(
        httpx.Request("POST", f"https://biway.test{path}", json=body, headers={"authorization": f"Bearer {KEY}"})
    )

    assert response.status_code == status
    assert "error" in response.json()


def test_auth_roles_and_media_type_are_checked(fake) -> None:
    def call(headers: dict[str, str], content: bytes = b"{}") -> int:
        return fake.handle(
            httpx.Request("POST", "https://biway.test/client/company", content=content, headers=headers)
        ).status_code

    json_type = {"content-type": "application/json"}
    assert call(json_type) == 401
    assert call({**json_type, "authorization": "Bearer nope"}) == 401
    assert call({**json_type, "authorization": "Basic " + KEY}) == 401
    assert call({**json_type, "authorization": "Bearer user-key"}) == 403
    assert call({"authorization": f"Bearer {KEY}", "content-type": "text/plain"}) == 400
    assert call({**json_type, "authorization": f"Bearer {KEY}"}, b"[]") == 400


def test_client_maps_refusals(fake) -> None:
    user_only = client_for(fake, "user-key")
    partner = client_for(fake)
    partner.create_account(BiwayAccountPayload(email="a@b.fr"))

    with pytest.raises(ProviderAuthError):
        user_only.create_company(BiwayCompanyPayload(name="Shop", siret="73282932000074"))
    with pytest.raises(ProviderConflictError):
        partner.create_account(BiwayAccountPayload(email="A@b.fr"))


def test_payloads_forward_fields_bi_way_may_want() -> None:
    payload = BiwaySubmitPayload.model_validate(
        {"recipient": "33670000000", "text": "Hi", "suggestions": [{"reply": "ok"}]}
    )

    assert payload.wire_body() == {"recipient": "33670000000", "text": "Hi", "suggestions": [{"reply": "ok"}]}


def test_reset_keeps_callback_urls_and_the_demo_agent(client, simulator) -> None:
    client.register_callback(BiwayCallbackPayload(url="https://api.test/cb"))
    client.create_agent(BiwayAgentPayload(name="SAV"))

    simulator.reset()

    assert list(simulator.resources) == [DEMO_AGENT_ID]
    assert simulator.callback_urls[KEY]["url"] == "https://api.test/cb"
    assert simulator.take_callbacks() == [] and simulator.events == []
    assert json.dumps(simulator.requests) == "[]"
