"""A callback processed before the registration or message it names was saved stays `unmatched`
until that resource is created: its creation comes through the stream too, and the events that
named it are applied then, so no status is lost to the race."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from chatbridge.logic.events import process_stored_item
from chatbridge.store import get_store
from chatbridge.store.base import get_message_store
from chatbridge.store.items import MessageItem, RegistrationItem
from tests.unit.events_support import (
    TABLE,
    biway_account,
    biway_message,
    deliver,
    event_bus_tap,
    presence,
    process,
    report,
    smartregion_registration,
    stored_event,
    stream_record,
)


@pytest.fixture
def published(aws: None, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[dict[str, Any]]]:
    return event_bus_tap(monkeypatch)


def created(key: dict[str, str]) -> dict[str, Any]:
    """The stream record of a resource's creation (what the processor's second filter passes)."""
    image = boto3.client("dynamodb").get_item(TableName=TABLE, Key={k: {"S": v} for k, v in key.items()})["Item"]
    return stream_record(image)


def test_a_delivery_report_that_came_before_its_message_is_applied_when_the_message_is_saved(
    providers, published, context
) -> None:
    early = deliver("biway", report("msg-1", "delivered", "2026-11-27T10:00:03Z", recipient="+33670000000"))
    process(context, early)
    assert stored_event(early)["outcome"]["S"] == "unmatched"
    assert [e["detail"]["outcome"] for e in published()] == ["unmatched"]

    message = biway_message("msg-1")
    answer = process(context, created(MessageItem.key(message.id)))

    assert answer == {"batchItemFailures": []}
    record = get_message_store().get_message(message.id)
    assert record is not None and record.message.status == "delivered"
    assert [c.status for c in record.message.status_history] == ["delivered"]
    assert stored_event(early)["outcome"]["S"] == "applied"
    assert stored_event(early)["message_id"]["S"] == message.id
    assert published() == []  # it was published when it arrived; bots dedupe on its id


def test_an_account_state_that_came_before_the_registration_is_applied_when_it_is_saved(
    providers, published, context
) -> None:
    early = deliver("biway", report("acc-7", "ACTIVE", "2026-11-27T10:01:00Z", event="ACCOUNT_STATE"))
    process(context, early)

    account = biway_account("acc-7")
    process(context, created(RegistrationItem.key(account.id)))

    stored = get_store().get_registration(account.id)
    assert stored is not None and stored.status == "active"
    assert stored_event(early)["outcome"]["S"] == "applied"


def test_a_presence_that_came_before_the_registration_is_applied_when_it_is_saved(
    providers, published, context
) -> None:
    early = deliver("smartregion", presence("tg-7", "connection", "2026-11-27T10:00:00Z"))
    process(context, early)

    registration = smartregion_registration("tg-7")
    process(context, created(RegistrationItem.key(registration.id)))

    stored = get_store().get_registration(registration.id)
    assert stored is not None and stored.presence is not None and stored.presence.state == "connected"


def test_several_late_reports_end_on_the_newest_whatever_their_order(providers, published, context) -> None:
    read = deliver("biway", report("msg-2", "read", "2026-11-27T10:00:09Z"))
    sent = deliver("biway", report("msg-2", "sent", "2026-11-27T10:00:01Z"))
    process(context, read, sent)

    message = biway_message("msg-2")
    process(context, created(MessageItem.key(message.id)))

    record = get_message_store().get_message(message.id)
    assert record is not None and record.message.status == "read"


def test_an_event_still_in_flight_is_applied_and_left_for_the_processor_to_publish(
    providers, published, context
) -> None:
    in_flight = deliver("biway", report("msg-3", "delivered", "2026-11-27T10:00:03Z"))  # stored, not processed yet
    message = biway_message("msg-3")

    process(context, created(MessageItem.key(message.id)))
    assert "status" not in stored_event(in_flight)  # still `received` (the default, not written)
    process(context, in_flight)

    record = get_message_store().get_message(message.id)
    assert record is not None and record.message.status == "delivered"
    assert [c.status for c in record.message.status_history] == ["delivered"]  # applied once
    assert [(e["detail-type"], e["detail"]["outcome"]) for e in published()] == [("biway.message.delivered", "applied")]


def test_a_resource_nobody_reported_on_costs_one_query_and_changes_nothing(providers, published, context) -> None:
    message = biway_message("msg-quiet")
    item = boto3.client("dynamodb").get_item(
        TableName=TABLE, Key={k: {"S": v} for k, v in MessageItem.key(message.id).items()}
    )["Item"]
    from chatbridge.store.dynamodb import from_attributes

    assert process_stored_item(from_attributes(item)) == "message"
    assert published() == []
    assert process_stored_item({"pk": "MSG#x", "sk": "RCPT#+33"}) == "other"
