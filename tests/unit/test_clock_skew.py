"""Provider reports never lose to our own clock.

Every time here is relative to what the gateway itself stamped (a resource's `created_at`), so a
provider clock behind or ahead of ours is simulated exactly, whatever today's date is. Reports go
the real way: the callbacks function stores them, the events processor applies them, the API reads
the result back.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest

import messaging_handler
from chatbridge.store import get_store
from tests.support import FakeLambdaContext, api_event, body_of, post_registration
from tests.unit.events_support import (
    biway_account,
    deliver,
    event_bus_tap,
    presence,
    process,
    report,
    smartregion_registration,
    stored_event,
)

# Provider clocks minutes and seconds behind ours, in step, and ahead.
SKEWS = [timedelta(minutes=-10), timedelta(seconds=-2), timedelta(0), timedelta(seconds=2), timedelta(minutes=7)]
SKEW_IDS = ["10min-behind", "2s-behind", "in-step", "2s-ahead", "7min-ahead"]
RECIPIENT = "+33670000000"
_numbers = itertools.count(1)


@pytest.fixture
def published(aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    return event_bus_tap(monkeypatch)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def post(path: str, body: dict[str, Any], context: FakeLambdaContext) -> dict[str, Any]:
    response = messaging_handler.lambda_handler(api_event("POST", path, body=body), context)
    assert response["statusCode"] == 201, response["body"]
    answer: dict[str, Any] = body_of(response)
    return answer


def read_message(message_id: str, context: FakeLambdaContext) -> dict[str, Any]:
    event = api_event("GET", f"/v1/messages/{message_id}", route="/v1/messages/{id}")
    response = messaging_handler.lambda_handler(event, context)
    assert response["statusCode"] == 200, response["body"]
    answer: dict[str, Any] = body_of(response)
    return answer


def created_at(resource: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(resource["created_at"].replace("Z", "+00:00"))


def biway_report(ref: str, state: str, at: datetime, event: str = "MESSENGER_REPORT", **extra: Any) -> dict[str, Any]:
    body = report(ref, state, iso(at), event=event, **extra)
    body["event_id"] = f"{body['event_id']}-{next(_numbers)}"  # distinct across parametrised runs
    return body


# -- messages ------------------------------------------------------------------------------------


def test_reports_two_seconds_behind_our_send_still_end_read(biway, published, context) -> None:
    # Given a Bi-way message, and a provider clock 2 s behind ours
    message = post("/v1/messages", {"provider": "biway", "recipient": RECIPIENT, "text": "Bonjour"}, context)
    behind = created_at(message) - timedelta(seconds=2)

    # When MESSENGER_REPORTs sent, delivered and read arrive, all stamped before our send returned
    records = [
        deliver("biway", biway_report(message["provider_ref"], state, behind + timedelta(milliseconds=10 * n)))
        for n, state in enumerate(["sent", "delivered", "read"])
    ]
    assert process(context, *records) == {"batchItemFailures": []}

    # Then the message is read, its history ends with the three reports, and each report applied
    read_back = read_message(message["id"], context)
    assert read_back["status"] == "read"
    assert [c["status"] for c in read_back["status_history"]] == ["accepted", "sent", "delivered", "read"]
    assert [stored_event(r)["outcome"]["S"] for r in records] == ["applied", "applied", "applied"]


@pytest.mark.parametrize("skew", SKEWS, ids=SKEW_IDS)
def test_out_of_order_reports_end_on_the_newest_whatever_the_provider_clock(
    biway, published, context, skew: timedelta
) -> None:
    message = post("/v1/messages", {"provider": "biway", "recipient": RECIPIENT, "text": "Hi"}, context)
    start = created_at(message) + skew
    sent, delivered, read = (start + timedelta(seconds=n) for n in (0, 1, 2))
    ref = message["provider_ref"]

    # read first, then sent, and a late delivered last: arrival order is not time order
    process(context, deliver("biway", biway_report(ref, "read", read)))
    process(context, deliver("biway", biway_report(ref, "sent", sent)))
    late = deliver("biway", biway_report(ref, "delivered", delivered))
    process(context, late)

    read_back = read_message(message["id"], context)
    assert read_back["status"] == "read"  # the late delivered never replaces read
    assert [c["status"] for c in read_back["status_history"]] == ["accepted", "sent", "delivered", "read"]


@pytest.mark.parametrize("skew", SKEWS, ids=SKEW_IDS)
def test_at_one_instant_the_further_status_wins(biway, published, context, skew: timedelta) -> None:
    message = post("/v1/messages", {"provider": "biway", "recipient": RECIPIENT, "text": "Hi"}, context)
    instant = created_at(message) + skew
    ref = message["provider_ref"]

    process(context, deliver("biway", biway_report(ref, "read", instant)))
    process(context, deliver("biway", biway_report(ref, "delivered", instant)))

    assert read_message(message["id"], context)["status"] == "read"


@pytest.mark.parametrize(
    "offset", [timedelta(seconds=-1), timedelta(0), timedelta(seconds=1)], ids=["before", "at", "after"]
)
def test_the_first_report_replaces_our_status_before_at_and_after_creation(
    biway, published, context, offset: timedelta
) -> None:
    message = post("/v1/messages", {"provider": "biway", "recipient": RECIPIENT, "text": "Hi"}, context)

    record = deliver("biway", biway_report(message["provider_ref"], "sent", created_at(message) + offset))
    process(context, record)

    assert read_message(message["id"], context)["status"] == "sent"
    assert stored_event(record)["outcome"]["S"] == "applied"


@pytest.mark.parametrize("skew", SKEWS, ids=SKEW_IDS)
def test_broadcast_recipients_follow_reports_from_a_skewed_clock(biway, published, context, skew: timedelta) -> None:
    recipients = ["+33600000001", "+33600000002"]
    broadcast = post("/v1/broadcasts", {"provider": "biway", "recipients": recipients, "text": "Soldes"}, context)
    start = created_at(broadcast) + skew
    ref = broadcast["provider_ref"]

    process(context, deliver("biway", biway_report(ref, "read", start + timedelta(seconds=2), recipient=recipients[0])))
    process(context, deliver("biway", biway_report(ref, "delivered", start, recipient=recipients[0])))
    process(context, deliver("biway", biway_report(ref, "failed", start, recipient=recipients[1])))

    statuses = {r["recipient"]: r["status"] for r in read_message(broadcast["id"], context)["recipient_statuses"]}
    assert statuses == {recipients[0]: "read", recipients[1]: "failed"}


@pytest.mark.parametrize("skew", SKEWS, ids=SKEW_IDS)
def test_an_agent_turns_active_on_a_report_from_a_skewed_clock(biway, published, context, skew: timedelta) -> None:
    agent = post("/v1/agents", {"provider": "biway", "name": "Boulangerie Martin", "description": "SAV"}, context)
    assert agent["status"] == "pending_verification"

    at = created_at(agent) + skew
    process(context, deliver("biway", biway_report(agent["provider_ref"], "active", at, event="AGENT_STATE")))

    read_back = read_message(agent["id"], context)
    assert read_back["status"] == "active"
    assert [c["status"] for c in read_back["status_history"]] == ["pending_verification", "active"]


@pytest.mark.parametrize("skew", SKEWS, ids=SKEW_IDS)
def test_a_chat_token_reads_read_on_a_report_from_a_skewed_clock(biway, published, context, skew: timedelta) -> None:
    from local.simulators.biway import DEMO_AGENT_ID

    token = post("/v1/chat-tokens", {"provider": "biway", "agent_id": DEMO_AGENT_ID}, context)

    at = created_at(token) + skew
    process(context, deliver("biway", biway_report(token["provider_ref"], "read", at)))

    assert read_message(token["id"], context)["status"] == "read"


# -- registrations -------------------------------------------------------------------------------


@pytest.mark.parametrize("skew", SKEWS, ids=SKEW_IDS)
def test_a_verification_report_from_a_skewed_clock_replaces_pending(biway, published, context, skew: timedelta) -> None:
    response = post_registration(
        {
            "provider": "biway",
            "kind": "account",
            "email": f"jeanne.{next(_numbers)}@example.fr",
            "first_name": "Jeanne",
        },
        context,
    )
    assert response["statusCode"] == 201, response["body"]
    registration = body_of(response)
    assert registration["status"] == "pending_verification"

    at = created_at(registration) + skew
    ref = registration["provider_ref"]
    process(context, deliver("biway", biway_report(ref, "active", at, event="ACCOUNT_STATE")))

    assert get_store().get_registration(registration["id"]).status == "active"  # type: ignore[union-attr]


@pytest.mark.parametrize("skew", SKEWS, ids=SKEW_IDS)
def test_verification_reports_order_among_themselves(providers, published, context, skew: timedelta) -> None:
    account = biway_account(f"acc-{next(_numbers)}")
    start = account.created_at + skew
    ref = account.provider_ref or ""
    later = deliver("biway", biway_report(ref, "rejected", start + timedelta(minutes=1), event="ACCOUNT_STATE"))
    earlier = deliver("biway", biway_report(ref, "active", start, event="ACCOUNT_STATE"))

    process(context, later)
    process(context, earlier)

    # the older `active` arrived last and changes nothing
    stored = get_store().get_registration(account.id)
    assert stored is not None
    assert stored.status == "rejected"


@pytest.mark.parametrize("skew", SKEWS, ids=SKEW_IDS)
def test_a_verification_tie_goes_to_the_further_state(providers, published, context, skew: timedelta) -> None:
    account = biway_account(f"acc-{next(_numbers)}")
    instant = account.created_at + skew
    ref = account.provider_ref or ""

    process(context, deliver("biway", biway_report(ref, "rejected", instant, event="ACCOUNT_STATE")))
    process(context, deliver("biway", biway_report(ref, "active", instant, event="ACCOUNT_STATE")))

    assert get_store().get_registration(account.id).status == "rejected"  # type: ignore[union-attr]


@pytest.mark.parametrize("skew", SKEWS, ids=SKEW_IDS)
def test_presence_from_a_skewed_clock_is_applied_and_ordered(providers, published, context, skew: timedelta) -> None:
    registration = smartregion_registration(user_id=f"tg-{next(_numbers)}")
    start = registration.created_at + skew

    process(context, deliver("smartregion", presence(registration.user_id, "disconnection", iso(start))))
    process(
        context,
        deliver("smartregion", presence(registration.user_id, "connection", iso(start - timedelta(seconds=30)))),
    )

    stored = get_store().get_registration(registration.id)
    assert stored is not None and stored.presence is not None
    assert stored.presence.state == "disconnected"
