"""Bi-way messaging through the Messaging function: sends, chat tokens, templates, agents (Given/When/Then).

The Bi-way fake is the simulator's socket-free logic; what it would post to our callback URL is
taken with `take_callbacks()` and applied with the message store's `apply_status`, as the events
processor does.
"""

from __future__ import annotations

import json
from datetime import datetime

import httpx
import pytest

import messaging_handler
from chatbridge.clock import derived_id
from chatbridge.store.base import get_message_store
from local.simulators.biway import DEMO_AGENT_ID, BiwaySimulator
from tests.simulated import SimulatorFake
from tests.support import FakeLambdaContext, api_event, body_of
from tests.unit.conftest import table_items

API_KEY = "biway-test-key"
SUBMIT = {"provider": "biway", "recipient": "+33670000000", "text": "Bonjour ! Votre commande est prête 🥖"}
BROADCAST = {
    "provider": "biway",
    "recipients": [f"+3367000000{n}" for n in range(5)],
    "text": "Soldes d'hiver : -30 % ce week-end.",
}
CONVERSATION = {"provider": "biway", "recipients": ["+33670000001", "+33670000002"], "text": "Rendez-vous à 10 h."}


@pytest.fixture
def simulator(biway: SimulatorFake) -> BiwaySimulator:
    assert isinstance(biway.simulator, BiwaySimulator)
    return biway.simulator


def post(path: str, body: dict, context: FakeLambdaContext, headers: dict[str, str] | None = None) -> dict:
    return messaging_handler.lambda_handler(api_event("POST", path, body=body, headers=headers), context)


def get(message_id: str, context: FakeLambdaContext, query: dict[str, str] | None = None) -> dict:
    event = api_event("GET", f"/v1/messages/{message_id}", route="/v1/messages/{id}", query=query)
    return messaging_handler.lambda_handler(event, context)


def deliver_callbacks(simulator: BiwaySimulator) -> list[bool]:
    """What the events processor does with each Bi-way callback."""
    return [
        get_message_store().apply_status(
            "biway",
            c.payload["resource_id"],
            c.payload["state"],
            datetime.fromisoformat(c.payload["occurred_at"]),
            c.payload["event_id"],
            c.payload.get("recipient"),
        )
        for c in simulator.take_callbacks()
    ]


def calls_to(biway: SimulatorFake, path: str) -> list[httpx.Request]:
    return [r for r in biway.requests if r.url.path == path]


# -- one recipient ------------------------------------------------------------------------------


def test_a_message_is_submitted_with_the_documented_call_and_stored(biway, context) -> None:
    # When a message is sent to one recipient
    response = post("/v1/messages", SUBMIT, context)

    # Then Bi-way got POST /messenger/submit with our key as a bearer token and the body as sent
    assert response["statusCode"] == 201, response["body"]
    (request,) = biway.requests
    assert (request.method, str(request.url)) == ("POST", "https://biway.test/messenger/submit")
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"recipient": "+33670000000", "text": SUBMIT["text"]}
    # And the message is answered and stored with Bi-way's reference and the status `accepted`
    message = body_of(response)
    assert response["headers"]["Location"] == f"/v1/messages/{message['id']}"
    assert message["provider"] == "biway"
    assert message["kind"] == "submit"
    assert message["status"] == "accepted"
    assert message["provider_ref"].startswith("msg_")
    assert message["recipient"] == "+33670000000"
    assert message["details"]["request"] == {"text": SUBMIT["text"]}
    assert [c["status"] for c in message["status_history"]] == ["accepted"]
    read_back = body_of(get(message["id"], context))
    assert {k: v for k, v in read_back.items() if k not in ("recipient_statuses", "next_token")} == message


def test_delivery_reports_build_the_status_history(biway, simulator, context) -> None:
    message = body_of(post("/v1/messages", SUBMIT, context))

    # When Bi-way reports sent, delivered and read (delivered twice: callbacks are retried)
    callbacks = simulator.take_callbacks()
    applied = [
        get_message_store().apply_status(
            "biway",
            c.payload["resource_id"],
            c.payload["state"],
            datetime.fromisoformat(c.payload["occurred_at"]),
            c.payload["event_id"],
            c.payload.get("recipient"),
        )
        for c in [*callbacks, callbacks[1]]
    ]

    # Then the message is read, with each report once in its history, oldest first
    assert applied == [True, True, True, False]
    read_back = body_of(get(message["id"], context))
    assert read_back["status"] == "read"
    assert [c["status"] for c in read_back["status_history"]] == ["accepted", "sent", "delivered", "read"]
    assert read_back["status_history"][-1]["recipient"] == "+33670000000"
    assert read_back["recipient_statuses"] == []


def test_a_failing_recipient_ends_failed(biway, simulator, context) -> None:
    simulator.failing_recipients.add("+33670000000")
    message = body_of(post("/v1/messages", SUBMIT, context))

    deliver_callbacks(simulator)

    assert body_of(get(message["id"], context))["status"] == "failed"


# -- many recipients ----------------------------------------------------------------------------


def test_a_broadcast_is_one_record_with_a_status_per_recipient(biway, simulator, context) -> None:
    # Given a broadcast to five recipients, one of whom fails
    simulator.failing_recipients.add("+33670000003")
    response = post("/v1/broadcasts", BROADCAST, context)
    assert response["statusCode"] == 201, response["body"]
    broadcast = body_of(response)
    assert json.loads(calls_to(biway, "/messenger/broadcast")[0].content)["recipients"] == BROADCAST["recipients"]
    assert (broadcast["kind"], broadcast["recipients"]) == ("broadcast", 5)
    assert "recipients" not in broadcast["details"]["request"]

    # When the per-recipient reports arrive
    deliver_callbacks(simulator)

    # Then each recipient has its own status, and the broadcast their aggregate
    read_back = body_of(get(broadcast["id"], context))
    assert read_back["recipient_counts"] == {"read": 4, "failed": 1}
    assert read_back["status"] == "partially_failed"
    statuses = {r["recipient"]: r["status"] for r in read_back["recipient_statuses"]}
    assert statuses == {**dict.fromkeys(BROADCAST["recipients"], "read"), "+33670000003": "failed"}
    (failed,) = [r for r in read_back["recipient_statuses"] if r["status"] == "failed"]
    assert [c["status"] for c in failed["status_history"]] == ["sent", "failed"]
    # and nothing was scanned to find them: one record per recipient under the message's key
    keys = {i["sk"]["S"] for i in table_items() if i["pk"]["S"] == f"MSG#{broadcast['id']}"}
    assert keys == {"MSG", *(f"RCPT#{r}" for r in BROADCAST["recipients"])}


def test_recipient_statuses_are_read_a_page_at_a_time(biway, simulator, context) -> None:
    broadcast = body_of(post("/v1/broadcasts", BROADCAST, context))
    deliver_callbacks(simulator)

    first = body_of(get(broadcast["id"], context, query={"limit": "2"}))
    second = body_of(get(broadcast["id"], context, query={"limit": "10", "next_token": first["next_token"]}))

    assert len(first["recipient_statuses"]) == 2
    assert second["next_token"] is None
    seen = [r["recipient"] for r in first["recipient_statuses"] + second["recipient_statuses"]]
    assert sorted(seen) == sorted(BROADCAST["recipients"])


def test_a_conversation_keeps_its_few_recipients(biway, simulator, context) -> None:
    response = post("/v1/conversations", CONVERSATION, context)

    assert response["statusCode"] == 201, response["body"]
    conversation = body_of(response)
    assert calls_to(biway, "/messenger/conversation")
    assert conversation["kind"] == "conversation"
    assert conversation["details"]["recipient_list"] == CONVERSATION["recipients"]
    deliver_callbacks(simulator)
    statuses = {r["recipient"]: r["status"] for r in body_of(get(conversation["id"], context))["recipient_statuses"]}
    assert statuses == dict.fromkeys(CONVERSATION["recipients"], "read")


# -- chat tokens, templates, agents -------------------------------------------------------------


def test_a_chat_token_answers_its_url_once_and_its_use_reports_read(biway, simulator, context) -> None:
    # When a chat token is created
    response = post("/v1/chat-tokens", {"provider": "biway", "agent_id": DEMO_AGENT_ID}, context)

    # Then the answer carries the chat URL
    assert response["statusCode"] == 201, response["body"]
    token = body_of(response)
    assert token["url"].startswith("https://chat.bi-way.local/chat/")
    assert (token["kind"], token["status"]) == ("chat_token", "created")
    assert json.loads(calls_to(biway, "/chatbot/token")[0].content) == {"agent_id": DEMO_AGENT_ID}
    # And neither the URL nor the token is stored or read back
    secret = token["url"].rsplit("/", 1)[1]
    assert secret not in json.dumps(table_items())
    read_back = get(token["id"], context)
    assert secret not in read_back["body"]
    assert "url" not in body_of(read_back)

    # When the person opens the chat
    simulator.use_chat_token(secret)
    deliver_callbacks(simulator)

    # Then the token reads `read`
    assert body_of(get(token["id"], context))["status"] == "read"


def test_a_chat_token_for_an_unknown_agent_is_a_422(biway, context) -> None:
    response = post("/v1/chat-tokens", {"provider": "biway", "agent_id": "agt_nope"}, context)

    assert response["statusCode"] == 422
    problem = body_of(response)
    assert (problem["provider"], problem["provider_code"]) == ("biway", "404")
    assert table_items() == []


def test_a_template_is_created(biway, context) -> None:
    body = {"provider": "biway", "name": "rappel-rdv", "text": "Rappel : rendez-vous le {{date}}.", "lang": "fr"}

    response = post("/v1/templates", body, context)

    assert response["statusCode"] == 201, response["body"]
    template = body_of(response)
    assert json.loads(calls_to(biway, "/messenger/template")[0].content) == {
        "name": "rappel-rdv",
        "text": body["text"],
        "lang": "fr",
    }
    assert (template["kind"], template["status"]) == ("template", "active")


def test_an_agent_waits_for_verification_then_turns_active(biway, simulator, context) -> None:
    response = post("/v1/agents", {"provider": "biway", "name": "Boulangerie Martin", "description": "SAV"}, context)

    assert response["statusCode"] == 201, response["body"]
    agent = body_of(response)
    assert (agent["kind"], agent["status"]) == ("agent", "pending_verification")
    assert calls_to(biway, "/chatbot/agent")

    deliver_callbacks(simulator)  # AGENT_STATE active

    read_back = body_of(get(agent["id"], context))
    assert read_back["status"] == "active"
    assert [c["status"] for c in read_back["status_history"]] == ["pending_verification", "active"]


# -- idempotency ----------------------------------------------------------------------------------


def test_the_same_idempotency_key_sends_once_and_answers_the_same(biway, context) -> None:
    headers = {"idempotency-key": "order-77"}

    first = post("/v1/messages", SUBMIT, context, headers)
    second = post("/v1/messages", SUBMIT, FakeLambdaContext(), headers)

    assert first["statusCode"] == second["statusCode"] == 201
    assert body_of(first) == body_of(second)
    assert len(calls_to(biway, "/messenger/submit")) == 1
    # the id is derived from the key, so a retry after the record expired still names the same message
    assert body_of(first)["id"] == derived_id("message", "test-key-id", "messages", "order-77")


def test_the_same_key_on_another_route_is_another_request(biway, context) -> None:
    headers = {"idempotency-key": "shared-key"}

    message = body_of(post("/v1/messages", SUBMIT, context, headers))
    broadcast = body_of(post("/v1/broadcasts", BROADCAST, context, headers))

    assert message["id"] != broadcast["id"]
    assert len(biway.requests) == 2


def test_a_key_reused_with_another_body_is_refused_without_sending(biway, context) -> None:
    headers = {"idempotency-key": "order-78"}
    post("/v1/messages", SUBMIT, context, headers)

    response = post("/v1/messages", {**SUBMIT, "text": "autre chose"}, context, headers)

    assert response["statusCode"] == 422
    assert body_of(response)["title"] == "Idempotency-Key reused"
    assert len(biway.requests) == 1


def test_a_failed_send_stores_nothing_and_leaves_the_key_free(biway, simulator, context) -> None:
    headers = {"idempotency-key": "order-79"}
    biway.script = [500]

    assert post("/v1/messages", SUBMIT, context, headers)["statusCode"] == 502
    assert [i for i in table_items() if i["pk"]["S"].startswith("MSG")] == []

    retried = post("/v1/messages", SUBMIT, context, headers)
    assert retried["statusCode"] == 201
    assert len(calls_to(biway, "/messenger/submit")) == 2
    assert [r.kind for r in simulator.resources.values()].count("submit") == 1  # the 500 created nothing


# -- provider failures ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_send_answered_5xx_is_not_repeated(biway, context, status: int) -> None:
    biway.script = [status]

    response = post("/v1/messages", SUBMIT, context)

    assert response["statusCode"] == 502
    assert len(biway.requests) == 1


def test_a_timed_out_send_is_a_504_and_not_repeated(biway, context) -> None:
    biway.script = [httpx.ReadTimeout("slow")]

    response = post("/v1/broadcasts", BROADCAST, context)

    # Bi-way may have taken it: stored `unknown`, the 504 names it (tests/unit/test_outcome_unknown.py)
    assert response["statusCode"] == 504
    assert len(biway.requests) == 1
    (message,) = [i for i in table_items() if i["sk"]["S"] == "MSG"]
    assert message["status"]["S"] == "unknown"
    assert message["id"]["S"] == body_of(response)["id"]


def test_a_send_that_never_left_is_retried(biway, context) -> None:
    biway.script = [httpx.ConnectError("refused")]

    response = post("/v1/messages", SUBMIT, context)

    assert response["statusCode"] == 201
    assert len(biway.requests) == 2


def test_a_429_is_retried_since_bi_way_did_not_process_it(biway, context) -> None:
    biway.script = [429]

    response = post("/v1/messages", SUBMIT, context)

    assert response["statusCode"] == 201
    assert len(calls_to(biway, "/messenger/submit")) == 2


def test_refused_credentials_are_a_502_without_the_key(biway, simulator, context, capsys) -> None:
    simulator.api_keys = {"rotated-key": frozenset({"user"})}

    response = post("/v1/messages", SUBMIT, context)

    assert response["statusCode"] == 502
    assert body_of(response)["title"] == "Bi-way refused our credentials"
    logged = capsys.readouterr()
    assert API_KEY not in response["body"] + logged.out + logged.err


def test_an_unknown_message_is_a_404(providers, context) -> None:
    response = get("00000000-0000-0000-0000-000000000000", context)

    assert response["statusCode"] == 404
    assert body_of(response)["title"] == "Message not found"
