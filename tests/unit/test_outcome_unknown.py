"""Unknown outcomes: a create that is not safe to repeat reached the provider and its answer was lost.

Given the provider processed the call (the simulator did it) and we never heard (httpx.ReadTimeout
raised after it, `AnswerLost`), then: one provider call, whatever the client retries with the same
Idempotency-Key; the resource stored with status `unknown` and the request it sent (never a
secret); a 504 naming it, replayed as is; and, where the provider allows it, reconciliation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest

import messaging_handler
import registrations_handler
from chatbridge.clock import utc_now
from chatbridge.store.base import get_message_store
from chatbridge.store.items import MessageItem, StatusChange
from local.simulators.biway import DEMO_AGENT_ID, BiwaySimulator
from local.simulators.imbee import ImbeeSimulator
from local.simulators.smartico import SmarticoSimulator
from tests.simulated import AnswerLost, SimulatorFake
from tests.support import FakeLambdaContext, ProviderFakes, api_event, body_of
from tests.unit.conftest import fake_of, table_items
from tests.unit.events_support import deliver, event_bus_tap, process
from tests.unit.test_registrations_smartico import AFFILIATE

SMARTICO_PASSWORD, SMARTICO_TOKEN = str(AFFILIATE["password"]), str(AFFILIATE["token"])
SUBMIT = {"provider": "biway", "recipient": "+33670000000", "text": "Bonjour ! Votre commande est prête."}
IMBEE_CREDENTIALS = ("imbee-test-auth", "imbee-test-corporate-token")
LOST = AnswerLost(httpx.ReadTimeout("the answer never came"))


def lost(fake: SimulatorFake) -> None:
    fake.script = [LOST]


def post_message(path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    event = api_event("POST", path, body=body, headers=headers)
    response: dict[str, Any] = messaging_handler.lambda_handler(event, FakeLambdaContext())
    return response


def post_registration(body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    event = api_event("POST", "/v1/registrations", body=body, headers=headers)
    response: dict[str, Any] = registrations_handler.lambda_handler(event, FakeLambdaContext())
    return response


def get(location: str) -> dict[str, Any]:
    route = "/v1/messages/{id}" if location.startswith("/v1/messages/") else "/v1/registrations/{id}"
    handler = messaging_handler if route.startswith("/v1/messages") else registrations_handler
    response: dict[str, Any] = handler.lambda_handler(api_event("GET", location, route=route), FakeLambdaContext())
    assert response["statusCode"] == 200, response["body"]
    resource: dict[str, Any] = body_of(response)
    return resource


def imbee_user(unique_id: str) -> dict[str, Any]:
    response = post_registration({"provider": "imbee", "unique_id_sha": unique_id})
    assert response["statusCode"] == 201, response["body"]
    registration: dict[str, Any] = body_of(response)
    return registration


@dataclass(frozen=True)
class Create:
    """One create that is not safe to repeat: where it is posted and what the provider receives."""

    name: str
    provider: str  # the fake's host prefix
    provider_path: str  # the call the provider receives
    route: str  # our POST route
    body: Callable[[], dict[str, Any]]
    secrets: tuple[str, ...] = ()  # sent to the provider, never stored with the unknown resource
    stored: dict[str, Any] = field(default_factory=dict)  # some of what the unknown resource keeps of the request

    def post(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
        if self.route == "/v1/registrations":
            return post_registration(body, headers)
        return post_message(self.route, body, headers)


def _chat() -> dict[str, Any]:
    alice, bob = imbee_user("alice-sha"), imbee_user("bob-sha")
    return {"provider": "imbee", "registration_id": alice["id"], "contacts": [bob["provider_ref"]]}


CREATES = [
    Create(
        "biway-submit",
        "biway",
        "/messenger/submit",
        "/v1/messages",
        lambda: SUBMIT,
        stored={"recipient": "+33670000000"},
    ),
    Create(
        "biway-broadcast",
        "biway",
        "/messenger/broadcast",
        "/v1/broadcasts",
        lambda: {"provider": "biway", "recipients": ["+33670000001", "+33670000002"], "text": "Soldes"},
        stored={"recipients": 2},
    ),
    Create(
        "biway-conversation",
        "biway",
        "/messenger/conversation",
        "/v1/conversations",
        lambda: {"provider": "biway", "recipients": ["+33670000003", "+33670000004"], "text": "RDV"},
        stored={"recipients": 2},
    ),
    Create(
        "biway-chat-token",
        "biway",
        "/chatbot/token",
        "/v1/chat-tokens",
        lambda: {"provider": "biway", "agent_id": DEMO_AGENT_ID, "recipient": "+33670000005"},
        stored={"kind": "chat_token"},
    ),
    Create(
        "biway-template",
        "biway",
        "/messenger/template",
        "/v1/templates",
        lambda: {"provider": "biway", "name": "rappel-rdv", "text": "Rappel"},
        stored={"kind": "template"},
    ),
    Create(
        "biway-agent",
        "biway",
        "/chatbot/agent",
        "/v1/agents",
        lambda: {"provider": "biway", "name": "Boulangerie Martin"},
        stored={"kind": "agent"},
    ),
    Create(
        "biway-company",
        "biway",
        "/client/company",
        "/v1/registrations",
        lambda: {"provider": "biway", "kind": "company", "name": "Boulangerie Martin", "siret": "73282932000074"},
        stored={"user_id": "73282932000074"},
    ),
    Create(
        "biway-account",
        "biway",
        "/system/account",
        "/v1/registrations",
        lambda: {"provider": "biway", "kind": "account", "email": "jeanne@example.fr"},
        stored={"user_id": "jeanne@example.fr"},
    ),
    Create(
        "biway-tester",
        "biway",
        "/messenger/rcs-tester",
        "/v1/registrations",
        lambda: {"provider": "biway", "kind": "tester", "agent_id": DEMO_AGENT_ID, "phone": "+33670000006"},
        stored={"user_id": "33670000006"},
    ),
    Create(
        "smartico",
        "smartico",
        "/api/register-aff",
        "/v1/registrations",
        lambda: AFFILIATE,
        secrets=(SMARTICO_PASSWORD, SMARTICO_TOKEN),
        stored={"user_id": "username123"},
    ),
    Create(
        "watbot-send",
        "watbot",
        "/api/v1/sendMessage",
        "/v1/messages",
        lambda: {"provider": "watbot", "contact_id": "1", "text": "Здравствуйте!"},
        secrets=("wb-test-token",),
        stored={"recipient": "1"},
    ),
    Create(
        "imbee-token",
        "imbee",
        "/token/new",
        "/v1/chat-tokens",
        lambda: {"provider": "imbee", "virtual_user": "vu-1", "bot_idsha": "bot-1", "mail": "a@example.org"},
        secrets=IMBEE_CREDENTIALS,
        stored={"kind": "access_token", "recipient": "vu-1"},
    ),
    Create(
        "imbee-chat",
        "imbee",
        "/chat/create",
        "/v1/conversations",
        _chat,
        secrets=IMBEE_CREDENTIALS,
        stored={"kind": "chat"},
    ),
]


def received(fake: SimulatorFake, path: str) -> int:
    """Calls the provider itself received (the simulator's record, not our attempts)."""
    simulator: Any = fake.simulator
    return len([r for r in simulator.requests if r.path == path])


@pytest.mark.parametrize("create", CREATES, ids=lambda c: c.name)
def test_a_lost_answer_stores_the_resource_unknown_and_the_same_key_replays_the_504(
    create: Create, providers: ProviderFakes
) -> None:
    fake = fake_of(providers, create.provider)
    body = create.body()  # (an Imbee chat registers its users first)
    headers = {"idempotency-key": f"key-{create.name}"}

    # Given the provider processes the call and its answer is lost
    lost(fake)
    first = create.post(body, headers)

    # Then the answer is a 504 problem naming the stored resource
    assert first["statusCode"] == 504, first["body"]
    assert first["headers"]["Content-Type"] == "application/problem+json"
    problem = body_of(first)
    assert problem["type"].endswith("/outcome-unknown")
    assert problem["status"] == 504
    assert problem["id"]
    location = first["headers"]["Location"]
    assert location.endswith(f"/{problem['id']}")
    assert "Idempotency-Key replays this answer" in problem["detail"]
    assert received(fake, create.provider_path) == 1

    # And the resource is stored `unknown`, with what was asked and why it is unknown
    resource = get(location)
    assert resource["status"] == "unknown"
    assert resource["provider_ref"] is None
    assert resource["details"]["outcome_unknown"]["cause"] == "ReadTimeout"
    assert resource["details"]["outcome_unknown"]["resolved_by"]
    assert {k: resource[k] for k in create.stored} == create.stored
    stored_text = json.dumps(table_items())
    for secret in create.secrets:
        assert secret not in stored_text

    # When the client retries with the same key: the same answer, and no second call
    again = create.post(body, headers)

    assert (again["statusCode"], body_of(again)) == (504, problem)
    assert again["headers"]["Location"] == location
    assert received(fake, create.provider_path) == 1


@pytest.mark.parametrize("create", [c for c in CREATES if c.provider == "biway"][:1], ids=lambda c: c.name)
def test_without_a_key_a_retry_after_an_unknown_outcome_is_a_new_request(
    create: Create, providers: ProviderFakes
) -> None:
    fake = fake_of(providers, create.provider)
    lost(fake)
    first = create.post(create.body())
    assert first["statusCode"] == 504
    assert "had no Idempotency-Key" in body_of(first)["detail"]

    second = create.post(create.body())

    assert second["statusCode"] == 201
    assert received(fake, create.provider_path) == 2
    assert body_of(second)["id"] != body_of(first)["id"]


def test_a_connection_refused_is_no_unknown_outcome_the_send_is_retried(biway: SimulatorFake) -> None:
    biway.script = [httpx.ConnectError("refused")]

    response = post_message("/v1/messages", SUBMIT, {"idempotency-key": "never-left"})

    assert response["statusCode"] == 201
    assert received(biway, "/messenger/submit") == 1


# -- Bi-way: the first report naming the recipient resolves an unknown send -----------------------


def biway_simulator(fake: SimulatorFake) -> BiwaySimulator:
    assert isinstance(fake.simulator, BiwaySimulator)
    return fake.simulator


@pytest.fixture
def bus(aws: None, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[dict[str, Any]]]:
    return event_bus_tap(monkeypatch)


def deliver_reports(simulator: BiwaySimulator) -> None:
    context = FakeLambdaContext()
    for callback in simulator.take_callbacks():
        answer = process(context, deliver("biway", callback.payload))
        assert answer == {"batchItemFailures": []}


def test_a_bi_way_report_on_the_recipient_resolves_an_unknown_message(biway: SimulatorFake, bus: Any) -> None:
    simulator = biway_simulator(biway)
    lost(biway)
    problem = body_of(post_message("/v1/messages", SUBMIT, {"idempotency-key": "lost-submit"}))
    (sent,) = [r for r in simulator.resources.values() if r.kind == "submit"]

    # When Bi-way's reports on that send arrive (sent, delivered, read)
    deliver_reports(simulator)

    # Then the message has Bi-way's reference and follows the reports
    message = get(f"/v1/messages/{problem['id']}")
    assert message["provider_ref"] == sent.id
    assert message["status"] == "read"
    assert [c["status"] for c in message["status_history"]] == ["unknown", "accepted", "sent", "delivered", "read"]
    assert sent.id in message["details"]["resolution"]
    # and the same key still replays the answer it gave (the outcome of that request was unknown)
    replay = post_message("/v1/messages", SUBMIT, {"idempotency-key": "lost-submit"})
    assert (replay["statusCode"], body_of(replay)["id"]) == (504, problem["id"])
    assert received(biway, "/messenger/submit") == 1


def test_a_report_on_one_recipient_resolves_an_unknown_conversation(biway: SimulatorFake, bus: Any) -> None:
    simulator = biway_simulator(biway)
    recipients = ["+33670000011", "+33670000012"]
    lost(biway)
    problem = body_of(post_message("/v1/conversations", {"provider": "biway", "recipients": recipients, "text": "RDV"}))

    deliver_reports(simulator)

    response = messaging_handler.lambda_handler(
        api_event("GET", f"/v1/messages/{problem['id']}", route="/v1/messages/{id}"), FakeLambdaContext()
    )
    message = body_of(response)
    assert (message["status"], message["recipient_counts"]) == ("read", {"read": 2})  # the recipients' aggregate
    assert message["provider_ref"] is not None
    assert {r["recipient"]: r["status"] for r in message["recipient_statuses"]} == dict.fromkeys(recipients, "read")


def test_a_report_matching_two_unknown_messages_resolves_neither(biway: SimulatorFake, bus: Any) -> None:
    simulator = biway_simulator(biway)
    ids = []
    for key in ("lost-1", "lost-2"):
        lost(biway)
        ids.append(body_of(post_message("/v1/messages", {**SUBMIT, "text": key}, {"idempotency-key": key}))["id"])

    deliver_reports(simulator)

    assert [get(f"/v1/messages/{i}")["status"] for i in ids] == ["unknown", "unknown"]


def test_a_report_long_after_an_unknown_send_does_not_resolve_it(biway: SimulatorFake, bus: Any) -> None:
    # Given a send stored unknown two hours ago (our clock), outside the reconciliation window
    sent_at = utc_now() - timedelta(hours=2)
    stale = MessageItem(
        id="stale-unknown",
        provider="biway",
        connection="default",
        kind="submit",
        status="unknown",
        recipients=1,
        recipient=SUBMIT["recipient"],
        status_history=[StatusChange(status="unknown", at=sent_at)],
        created_at=sent_at,
        updated_at=sent_at,
    )
    get_message_store().create_message(stale, ["recipient:33670000000"])

    # When Bi-way reports on a message to that recipient we hold no reference of
    report = {
        "event_id": "ev-late",
        "event": "MESSENGER_REPORT",
        "resource_id": "msg-from-elsewhere",
        "state": "delivered",
        "occurred_at": "2030-01-01T00:00:00Z",  # Bi-way's clock: never compared with ours
        "recipient": SUBMIT["recipient"],
    }
    process(FakeLambdaContext(), deliver("biway", report))

    assert get("/v1/messages/stale-unknown")["status"] == "unknown"


# -- registrations: the provider's "already exists" to a later attempt resolves them ---------------


def test_smartico_username_exists_after_an_unknown_outcome_resolves_the_registration(smartico) -> None:
    lost(smartico)
    problem = body_of(post_registration(AFFILIATE, {"idempotency-key": "aff-1"}))
    simulator = smartico.simulator
    assert isinstance(simulator, SmarticoSimulator)
    assert "username123" in simulator.affiliates  # Smartico registered it

    # When the client registers again with a new key (and a fresh reCAPTCHA token)
    again = post_registration({**AFFILIATE, "token": "fresh-token"}, {"idempotency-key": "aff-2"})

    # Then Smartico's USERNAME_ALREADY_EXISTS resolves the stored registration instead of a 409
    assert again["statusCode"] == 200, again["body"]
    registration = body_of(again)
    assert registration["id"] == problem["id"]
    assert registration["status"] == "pending_approval"
    assert "USERNAME_ALREADY_EXISTS" in registration["details"]["resolution"]
    found = registrations_handler.lambda_handler(
        api_event("GET", "/v1/registrations", query={"provider": "smartico", "user_id": "username123"}),
        FakeLambdaContext(),
    )
    assert [r["status"] for r in body_of(found)["items"]] == ["pending_approval"]
    assert SMARTICO_PASSWORD not in json.dumps(table_items())


def test_smartico_email_exists_for_the_same_affiliate_resolves_it_too(smartico) -> None:
    lost(smartico)
    problem = body_of(post_registration({**AFFILIATE, "manager_id": 12}))
    simulator = smartico.simulator
    assert isinstance(simulator, SmarticoSimulator)
    simulator.answer_next(-8)

    again = post_registration({**AFFILIATE, "manager_id": 12})

    assert again["statusCode"] == 200, again["body"]
    assert (body_of(again)["id"], body_of(again)["status"]) == (problem["id"], "approved")


def test_smartico_email_exists_for_another_affiliate_stays_a_409(smartico) -> None:
    lost(smartico)
    post_registration(AFFILIATE)
    simulator = smartico.simulator
    assert isinstance(simulator, SmarticoSimulator)
    simulator.answer_next(-8)

    again = post_registration({**AFFILIATE, "bo_user_email": "someone.else@example.com"})

    assert again["statusCode"] == 409
    assert body_of(again)["provider_code"] == "-8"


def test_smartico_username_taken_without_an_unknown_registration_stays_a_409(smartico) -> None:
    assert post_registration(AFFILIATE)["statusCode"] == 201

    again = post_registration(AFFILIATE)

    assert again["statusCode"] == 409
    assert body_of(again)["provider_code"] == "-7"


def test_bi_way_duplicate_after_an_unknown_company_resolves_it(biway: SimulatorFake) -> None:
    company = {"provider": "biway", "kind": "company", "name": "Boulangerie Martin", "siret": "73282932000074"}
    lost(biway)
    problem = body_of(post_registration(company, {"idempotency-key": "company-1"}))

    again = post_registration(company, {"idempotency-key": "company-2"})

    assert again["statusCode"] == 200, again["body"]
    registration = body_of(again)
    assert (registration["id"], registration["status"]) == (problem["id"], "pending_verification")
    assert "409" in registration["details"]["resolution"]
    assert received(biway, "/client/company") == 2


def test_an_unknown_outcome_keeps_what_is_known_of_a_registration(biway: SimulatorFake) -> None:
    # Given a company registered, and Bi-way's answer to registering it again lost
    company = {"provider": "biway", "kind": "company", "name": "Boulangerie Martin", "siret": "73282932000074"}
    created = body_of(post_registration(company))
    lost(biway)

    problem = body_of(post_registration(company))

    # Then the 504 names the registration, still as it was
    assert problem["id"] == created["id"]
    assert "already stored (status `pending_verification`)" in problem["detail"]
    assert get(f"/v1/registrations/{created['id']}")["provider_ref"] == created["provider_ref"]


# -- Imbee: previously_created to a later request resolves an unknown token or chat --------------


def test_imbee_previously_created_token_resolves_an_unknown_one(imbee: SimulatorFake) -> None:
    alice = imbee_user("alice-sha")
    body = {"provider": "imbee", "virtual_user": alice["provider_ref"], "bot_idsha": "bot-1", "mail": "a@example.org"}
    lost(imbee)
    problem = body_of(post_message("/v1/chat-tokens", body, {"idempotency-key": "token-1"}))

    again = post_message("/v1/chat-tokens", body, {"idempotency-key": "token-2"})

    assert again["statusCode"] == 200, again["body"]
    token = body_of(again)
    assert (token["id"], token["status"]) == (problem["id"], "created")
    assert token["url"]
    assert "previously_created" in token["details"]["resolution"]
    assert "url" not in get(f"/v1/messages/{problem['id']}")
    assert received(imbee, "/token/new") == 2


def test_imbee_previously_created_chat_resolves_an_unknown_one(imbee: SimulatorFake) -> None:
    body = _chat()
    simulator = imbee.simulator
    assert isinstance(simulator, ImbeeSimulator)
    lost(imbee)
    problem = body_of(post_message("/v1/conversations", body, {"idempotency-key": "chat-1"}))

    again = post_message("/v1/conversations", body, {"idempotency-key": "chat-2"})

    assert again["statusCode"] == 200, again["body"]
    chat = body_of(again)
    assert (chat["id"], chat["status"]) == (problem["id"], "created")
    assert chat["provider_ref"]
    # and a third request finds it by Imbee's conversation id
    third = post_message("/v1/conversations", body)
    assert (third["statusCode"], body_of(third)["id"]) == (200, problem["id"])
