"""Messaging through the dev server, the Bi-way, Imbee and Watbot simulators, over real connections.

Bi-way's reports travel the whole way back: the simulator posts them to our callback route, the
stream poller hands the stored event to the events processor, which applies it to the message.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from local.simulators.biway import DEMO_AGENT_ID
from local.stack import LocalStack

STATUS_WAIT_SECONDS = 30  # the simulator reports sent, delivered, read a second apart


def phone() -> str:
    return f"+336{uuid.uuid4().int % 10**8:08d}"


def eventually(read: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + STATUS_WAIT_SECONDS
    while True:
        current = read()
        if done(current) or time.monotonic() > deadline:
            return current
        time.sleep(0.25)


def message(api: httpx.Client, message_id: str, **params: Any) -> dict[str, Any]:
    response = api.get(f"/v1/messages/{message_id}", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_submitted_message_collects_its_delivery_reports(api: httpx.Client, stack: LocalStack) -> None:
    recipient = phone()

    response = api.post("/v1/messages", json={"provider": "biway", "recipient": recipient, "text": "Bonjour 🥖"})

    assert response.status_code == 201, response.text
    sent = response.json()
    (call,) = [r for r in stack.biway.calls("/messenger/submit") if r.body["recipient"] == recipient]
    assert call.headers["authorization"] == "Bearer biway-demo-key"
    assert call.body == {"recipient": recipient, "text": "Bonjour 🥖"}
    read = eventually(lambda: message(api, sent["id"]), lambda m: m["status"] == "read")
    assert read["status"] == "read"
    assert [c["status"] for c in read["status_history"]] == ["accepted", "sent", "delivered", "read"]


def test_a_broadcast_reports_each_recipient(api: httpx.Client) -> None:
    recipients = [phone() for _ in range(3)]

    response = api.post("/v1/broadcasts", json={"provider": "biway", "recipients": recipients, "text": "Promo"})

    assert response.status_code == 201, response.text
    broadcast = response.json()
    final = eventually(
        lambda: message(api, broadcast["id"]),
        lambda m: sorted(r["status"] for r in m["recipient_statuses"]) == ["read"] * 3,
    )
    assert {r["recipient"]: r["status"] for r in final["recipient_statuses"]} == dict.fromkeys(recipients, "read")
    # the broadcast's own status is the aggregate of its recipients' (README, "Listing")
    assert final["status"] == "read"
    assert {status: n for status, n in (final["recipient_counts"] or {}).items() if n} == {"read": 3}


def test_opening_a_chat_token_reports_read(api: httpx.Client, stack: LocalStack) -> None:
    response = api.post("/v1/chat-tokens", json={"provider": "biway", "agent_id": DEMO_AGENT_ID})

    assert response.status_code == 201, response.text
    token = response.json()
    assert "url" not in message(api, token["id"])
    # the person opens the chat (the simulator serves Bi-way's chat pages too)
    secret = token["url"].rsplit("/", 1)[1]
    assert httpx.get(f"{stack.biway.url}/chat/{secret}").status_code == 200
    final = eventually(lambda: message(api, token["id"]), lambda m: m["status"] == "read")
    assert [c["status"] for c in final["status_history"]] == ["created", "read"]


def test_an_agent_turns_active_when_bi_way_says_so(api: httpx.Client) -> None:
    response = api.post("/v1/agents", json={"provider": "biway", "name": f"Agent {uuid.uuid4().hex[:6]}"})

    assert response.status_code == 201, response.text
    agent = response.json()
    assert agent["status"] == "pending_verification"
    final = eventually(lambda: message(api, agent["id"]), lambda m: m["status"] == "active")
    assert [c["status"] for c in final["status_history"]] == ["pending_verification", "active"]


def test_the_same_idempotency_key_sends_once(api: httpx.Client, stack: LocalStack) -> None:
    recipient = phone()
    body = {"provider": "biway", "recipient": recipient, "text": "une seule fois"}
    headers = {"Idempotency-Key": str(uuid.uuid4())}

    first = api.post("/v1/messages", json=body, headers=headers)
    second = api.post("/v1/messages", json=body, headers=headers)

    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert len([r for r in stack.biway.calls("/messenger/submit") if r.body["recipient"] == recipient]) == 1


def test_bi_way_down_is_a_502_and_the_send_is_not_repeated(api: httpx.Client, stack: LocalStack) -> None:
    recipient = phone()
    stack.biway.fail_next(503)

    response = api.post("/v1/messages", json={"provider": "biway", "recipient": recipient, "text": "x"})

    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    assert len([r for r in stack.biway.calls("/messenger/submit") if (r.body or {}).get("recipient") == recipient]) == 1


def test_slow_bi_way_is_a_504(api: httpx.Client, stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVIDER_READ_TIMEOUT", "0.3")
    stack.biway.delay_next(1.0)

    response = api.post("/v1/messages", json={"provider": "biway", "recipient": phone(), "text": "x"})

    # Bi-way may have taken it: the message is stored `unknown` and the 504 names it
    assert response.status_code == 504
    problem = response.json()
    assert problem["type"].endswith("/outcome-unknown")
    assert response.headers["location"] == f"/v1/messages/{problem['id']}"
    assert message(api, problem["id"])["status"] == "unknown"


def test_bad_input_is_a_422_and_reaches_no_one(api: httpx.Client, stack: LocalStack) -> None:
    before = len(stack.biway.requests)

    response = api.post("/v1/broadcasts", json={"provider": "biway", "recipients": ["not a phone"]})

    assert response.status_code == 422
    assert len(stack.biway.requests) == before


def test_imbee_access_token_and_chat_between_registered_users(api: httpx.Client, stack: LocalStack) -> None:
    # Given two users registered at Imbee through the gateway
    ids = [f"user-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    alice, bob = (api.post("/v1/registrations", json={"provider": "imbee", "unique_id_sha": i}).json() for i in ids)

    # When Alice gets an access token and opens a chat with Bob
    token = api.post(
        "/v1/chat-tokens",
        json={
            "provider": "imbee",
            "virtual_user": alice["provider_ref"],
            "bot_idsha": "bot-1",
            "cellular": "+34600000001",
        },
    )
    body = {"provider": "imbee", "registration_id": alice["id"], "contacts": [bob["provider_ref"]]}
    chat = api.post("/v1/conversations", json=body)
    again = api.post("/v1/conversations", json=body)

    # Then the token URL is answered, and the chat was opened with Alice's own apikey
    assert token.status_code == 201, token.text
    assert token.json()["url"]
    assert chat.status_code == 201, chat.text
    assert again.status_code == 200
    assert again.json()["id"] == chat.json()["id"]
    (opened, *_) = stack.imbee.calls("/chat/create")
    assert opened.headers["x-woos-key"] == stack.imbee.users[ids[0]].apikey


def test_a_watbot_reply_is_sent(api: httpx.Client, stack: LocalStack) -> None:
    contact = stack.watbot.add_contact("Получатель")

    response = api.post("/v1/messages", json={"provider": "watbot", "contact_id": str(contact), "text": "Привет 👋"})

    assert response.status_code == 201, response.text
    assert stack.watbot.contacts[contact].messages[0]["text"] == "Привет 👋"
