"""GET /v1/events?registration_id= | ?message_id=: the events of one subject (Query, never Scan)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import callbacks_handler
from tests.support import api_event, body_of
from tests.unit.events_support import (
    biway_account,
    biway_message,
    deliver,
    event_bus_tap,
    presence,
    process,
    report,
    smartregion_registration,
)


@pytest.fixture
def published(aws: None, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[dict[str, Any]]]:
    return event_bus_tap(monkeypatch)


def list_events(context: Any, **query: str) -> dict[str, Any]:
    response: dict[str, Any] = callbacks_handler.lambda_handler(api_event("GET", "/v1/events", query=query), context)
    return response


def test_a_registrations_events_are_listed_oldest_first_with_their_outcome(providers, published, context) -> None:
    registration = smartregion_registration()
    late = deliver("smartregion", presence("tg-100500", "disconnection", "2026-11-27T11:00:00Z"))
    deliver("smartregion", presence("tg-100500", "connection", "2026-11-27T10:00:00Z"))
    deliver("smartregion", presence("someone-else", "connection", "2026-11-27T10:30:00Z"))
    process(context, late)

    response = list_events(context, registration_id=registration.id)

    assert response["statusCode"] == 200, response["body"]
    page = body_of(response)
    assert [(e["type"], e["status"], e["outcome"]) for e in page["items"]] == [
        ("connection", "received", None),
        ("disconnection", "processed", "applied"),
    ]
    first = page["items"][0]
    assert first["data"] == presence("tg-100500", "connection", "2026-11-27T10:00:00Z")
    assert first["detail_type"] == "smartregion.user.connected"
    assert first["recognised"] is True
    assert page["next_token"] is None


def test_events_naming_another_channel_are_not_listed(providers, published, context) -> None:
    registration = smartregion_registration(channel_id="chan-1")
    deliver("smartregion", presence("tg-100500", "connection", "2026-11-27T10:00:00Z", channel_id="chan-2"))
    deliver("smartregion", presence("tg-100500", "detection", "2026-11-27T10:05:00Z", channel_id=None))

    page = body_of(list_events(context, registration_id=registration.id))

    assert [e["type"] for e in page["items"]] == ["detection"]


def test_a_bi_way_account_lists_its_state_changes(providers, published, context) -> None:
    account = biway_account("acc-1")
    deliver("biway", report("acc-1", "active", "2026-11-27T10:00:00Z", event="ACCOUNT_STATE"))

    page = body_of(list_events(context, registration_id=account.id))

    assert [(e["type"], e["state"]) for e in page["items"]] == [("ACCOUNT_STATE", "active")]


def test_a_messages_reports_are_listed_even_before_they_are_processed(providers, published, context) -> None:
    message = biway_message("msg-1")
    deliver("biway", report("msg-1", "delivered", "2026-11-27T10:00:03Z"))
    processed = deliver("biway", report("msg-1", "read", "2026-11-27T10:00:05Z"))
    process(context, processed)

    page = body_of(list_events(context, message_id=message.id))

    assert [(e["state"], e["status"], e["message_id"]) for e in page["items"]] == [
        ("delivered", "received", None),
        ("read", "processed", message.id),
    ]


def test_events_are_paged(providers, published, context) -> None:
    message = biway_message("msg-2")
    for second in range(5):
        deliver("biway", report("msg-2", "sent", f"2026-11-27T10:00:0{second}Z"))

    first = body_of(list_events(context, message_id=message.id, limit="2"))
    second = body_of(list_events(context, message_id=message.id, limit="2", next_token=first["next_token"]))
    rest = body_of(list_events(context, message_id=message.id, limit="2", next_token=second["next_token"]))

    times = [e["occurred_at"] for page in (first, second, rest) for e in page["items"]]
    assert times == sorted(times) and len(times) == 5


def test_a_next_token_of_another_subject_is_a_400(providers, published, context) -> None:
    one, other = biway_message("msg-3"), biway_message("msg-4")
    for second in range(3):
        deliver("biway", report("msg-3", "sent", f"2026-11-27T10:00:0{second}Z"))
    token = body_of(list_events(context, message_id=one.id, limit="1"))["next_token"]

    response = list_events(context, message_id=other.id, next_token=token)

    assert response["statusCode"] == 400


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"registration_id": "r", "message_id": "m"}, 422),
        ({"registration_id": "r", "outcome": "applied"}, 422),  # a subject's events take no list filter
        ({"outcome": "lost"}, 422),
        ({"received_after": "2026-11-27T10:00:00Z", "received_before": "2026-11-27T09:00:00Z"}, 422),
        ({"registration_id": "no-such-registration"}, 404),
        ({"message_id": "no-such-message"}, 404),
        ({"registration_id": "x" * 65}, 422),
        ({"registration_id": "r", "limit": "0"}, 422),
        ({"registration_id": "r", "limit": "101"}, 422),
        ({"registration_id": "r", "next_token": "not-a-token"}, 404),  # the subject is checked first
    ],
)
def test_bad_queries_are_4xx_problems(providers, context, query: dict[str, str], status: int) -> None:
    response = list_events(context, **query)

    assert response["statusCode"] == status, response["body"]
    assert response["headers"]["Content-Type"] == "application/problem+json"
