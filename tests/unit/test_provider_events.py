"""Reading webhook bodies: what is extracted, what is flagged, nothing refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chatbridge.integrations import registry
from chatbridge.integrations.webhook_fields import EventFacts, parse_time


def describe(provider: str, body: dict[str, Any]) -> EventFacts:
    return registry.webhooks(provider).describe(body)


@pytest.mark.parametrize(
    ("body", "state", "facts"),
    [
        ({"event": "connection", "user_id": "u1"}, "connected", {"user_id": "u1"}),
        ({"type": "DISCONNECTION", "userId": 42}, "disconnected", {"user_id": "42"}),
        ({"event_type": "detection", "user_id": "u1", "channel_id": "c", "project_id": "p"}, "detected", None),
        ({"event": {"type": "connect"}, "user": {"user_id": "u1", "channelId": "c"}}, "connected", None),
        ({"data": {"event": "detected", "payload": {"user_id": "deep"}}}, "detected", {"user_id": "deep"}),
    ],
)
def test_smartregion_presence_is_read_wherever_the_fields_are(
    body: dict[str, Any], state: str, facts: dict[str, str] | None
) -> None:
    described = describe("smartregion", body)

    assert described.recognised is True
    assert described.state == state
    assert described.detail_type == f"smartregion.user.{state}"
    assert described.subject_kind == "registration"
    assert described.subject_ref == described.facts["user_id"]
    if facts is not None:
        assert described.facts == facts


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"event": "connection"},  # about no one
        {"user_id": "u1"},  # no type
        {"event": "lunch", "user_id": "u1"},
        {"event": "connection", "user_id": {"an": "object"}},
        {"event": "connection", "user_id": True},
        {"event": "connection", "user_id": "x" * 300},
        {"event": "connection", "user_id": "tab\there"},
    ],
)
def test_smartregion_bodies_we_cannot_apply_are_flagged(body: dict[str, Any]) -> None:
    described = describe("smartregion", body)

    assert described.recognised is False
    assert described.detail_type is None


def test_smartregion_event_ids_are_used_when_present() -> None:
    assert describe("smartregion", {"event_id": "e-1", "event": "connection"}).provider_event_id == "e-1"
    assert describe("smartregion", {"id": "ambiguous", "event": "connection"}).provider_event_id is None


@pytest.mark.parametrize(
    ("event", "state", "kind", "detail_type"),
    [
        ("ACCOUNT_STATE", "active", "registration", "biway.account.active"),
        ("company_state", "Pending verification", "registration", "biway.company.pending_verification"),
        ("TESTER_STATE", "accepted", "registration", "biway.tester.accepted"),
        ("AGENT_STATE", "ACTIVE", "message", "biway.agent.active"),
        ("MESSENGER_REPORT", "displayed", "message", "biway.message.read"),
        ("MESSENGER_REPORT", "undelivered", "message", "biway.message.failed"),
        ("MESSENGER_REPORT", "some-new-state", "message", "biway.message.some_new_state"),
    ],
)
def test_biway_callbacks_are_normalised_with_the_shared_vocabulary(
    event: str, state: str, kind: str, detail_type: str
) -> None:
    described = describe(
        "biway",
        {"event_id": 7, "event": event, "resource_id": 1234, "state": state, "occurred_at": 1795773600123},
    )

    assert described.recognised is True
    assert described.provider_event_id == "7"
    assert described.subject_kind == kind
    assert described.subject_ref == "1234"
    assert described.detail_type == detail_type
    assert described.occurred_at == datetime(2026, 11, 27, 10, 0, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [
        {"event": "INVOICE_READY", "resource_id": "r", "state": "ok"},
        {"event": "MESSENGER_REPORT", "state": "read"},  # about nothing
        {"event": "MESSENGER_REPORT", "resource_id": "r"},  # no state
        {"event": "MESSENGER_REPORT", "resource_id": "r", "state": "!!!"},
        {"event": "MESSENGER_REPORT", "resource_id": "r", "state": ["read"]},
        {"event": ["MESSENGER_REPORT"], "resource_id": "r", "state": "read"},
    ],
)
def test_biway_bodies_we_cannot_apply_are_flagged(body: dict[str, Any]) -> None:
    assert describe("biway", body).recognised is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-27T10:00:00Z", datetime(2026, 11, 27, 10, tzinfo=UTC)),
        ("2026-11-27T12:00:00+02:00", datetime(2026, 11, 27, 10, tzinfo=UTC)),
        ("2026-11-27 10:00:00", datetime(2026, 11, 27, 10, tzinfo=UTC)),  # no zone: UTC
        (1795773600, datetime(2026, 11, 27, 10, tzinfo=UTC)),
        (1795773600.5, datetime(2026, 11, 27, 10, 0, 0, 500000, tzinfo=UTC)),
        ("1795773600000", datetime(2026, 11, 27, 10, tzinfo=UTC)),
        ("yesterday", None),
        (True, None),
        (None, None),
        (12, None),  # 1970: a misread field, not a time
        ("9999-01-01T00:00:00Z", None),
        (float("nan"), None),
    ],
)
def test_times_are_read_in_the_usual_forms(value: Any, expected: datetime | None) -> None:
    assert parse_time(value) == expected
