"""EventsProcessor: stream records of new events -> registrations, messages and EventBridge."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

import events_processor_handler
from chatbridge.store import get_store
from chatbridge.store.base import get_message_store
from chatbridge.store.items import MessageItem
from tests.support import load_event
from tests.unit.events_support import (
    BUS,
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


# -- SmartRegion presence ------------------------------------------------------------------------


def test_a_connection_sets_the_users_presence_and_is_published(providers, published, context) -> None:
    registration = smartregion_registration()
    record = deliver("smartregion", presence("tg-100500", "connection", "2026-11-27T10:00:00Z"))

    answer = process(context, record)

    assert answer == {"batchItemFailures": []}
    stored = get_store().get_registration(registration.id)
    assert stored is not None and stored.presence is not None
    assert stored.presence.state == "connected"
    assert stored.presence.last_seen_at == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert stored.details == registration.details  # the registration itself is untouched
    (sent,) = published()
    assert sent["detail-type"] == "smartregion.user.connected"
    assert sent["source"] == "chatbridge"
    assert sent["detail"]["registration_ids"] == [registration.id]
    assert sent["detail"]["outcome"] == "applied"
    event = stored_event(record)
    assert event["status"]["S"] == "processed"
    assert event["outcome"]["S"] == "applied"
    assert [r["S"] for r in event["registration_ids"]["L"]] == [registration.id]


def test_an_older_event_arriving_late_never_overwrites_a_newer_one(providers, published, context) -> None:
    registration = smartregion_registration()
    newer = deliver("smartregion", presence("tg-100500", "disconnection", "2026-11-27T11:00:00Z"))
    older = deliver("smartregion", presence("tg-100500", "connection", "2026-11-27T10:00:00Z"))

    process(context, newer)
    process(context, older)

    stored = get_store().get_registration(registration.id)
    assert stored is not None and stored.presence is not None
    assert stored.presence.state == "disconnected"
    assert stored.presence.last_seen_at == datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
    assert stored_event(older)["outcome"]["S"] == "unchanged"
    # both happened: both are published, the late one says it changed nothing
    assert [(e["detail-type"], e["detail"]["outcome"]) for e in published()] == [
        ("smartregion.user.disconnected", "applied"),
        ("smartregion.user.connected", "unchanged"),
    ]


def test_a_redelivered_record_is_applied_and_published_once(providers, published, context) -> None:
    registration = smartregion_registration()
    record = deliver("smartregion", presence("tg-100500", "connection", "2026-11-27T10:00:00Z"))

    process(context, record)
    before = get_store().get_registration(registration.id)
    process(context, record)  # the stream retries from a failed record: later ones come again

    assert get_store().get_registration(registration.id) == before
    assert len(published()) == 1


def test_an_event_naming_another_channel_is_not_applied_to_this_registration(providers, published, context) -> None:
    here = smartregion_registration(channel_id="chan-1")
    there = smartregion_registration(channel_id="chan-2")
    record = deliver("smartregion", presence("tg-100500", "detection", "2026-11-27T10:00:00Z", channel_id="chan-2"))

    process(context, record)

    assert get_store().get_registration(here.id).presence is None  # type: ignore[union-attr]
    assert get_store().get_registration(there.id).presence.state == "detected"  # type: ignore[union-attr]


def test_an_event_without_a_channel_applies_to_every_registration_of_the_user(providers, published, context) -> None:
    first, second = smartregion_registration(channel_id="chan-1"), smartregion_registration(channel_id="chan-2")
    record = deliver("smartregion", presence("tg-100500", "connection", "2026-11-27T10:00:00Z", channel_id=None))

    process(context, record)

    for registration in (first, second):
        assert get_store().get_registration(registration.id).presence.state == "connected"  # type: ignore[union-attr]


def test_an_event_about_an_unknown_user_is_kept_as_unmatched_and_published(providers, published, context) -> None:
    record = deliver("smartregion", presence("nobody", "connection", "2026-11-27T10:00:00Z"))

    assert process(context, record) == {"batchItemFailures": []}

    assert stored_event(record)["outcome"]["S"] == "unmatched"
    (sent,) = published()
    assert sent["detail"]["outcome"] == "unmatched"


def test_a_re_registration_keeps_the_presence(providers, published, context) -> None:
    registration = smartregion_registration()
    process(context, deliver("smartregion", presence("tg-100500", "connection", "2026-11-27T10:00:00Z")))

    smartregion_registration()  # registered again: save_registration rewrites the item

    stored = get_store().get_registration(registration.id)
    assert stored is not None and stored.presence is not None and stored.presence.state == "connected"


# -- Bi-way --------------------------------------------------------------------------------------


def test_an_account_state_change_updates_the_registration_status(providers, published, context) -> None:
    account = biway_account("acc-2231")
    record = deliver("biway", report("acc-2231", "ACTIVE", "2026-11-27T10:01:00Z", event="ACCOUNT_STATE"))

    process(context, record)

    assert get_store().get_registration(account.id).status == "active"  # type: ignore[union-attr]
    (sent,) = published()
    assert sent["detail-type"] == "biway.account.active"
    assert sent["detail"]["registration_ids"] == [account.id]


def test_verification_states_out_of_order_end_on_the_newest(providers, published, context) -> None:
    account = biway_account("acc-9")
    rejected = deliver("biway", report("acc-9", "rejected", "2026-11-27T12:00:00Z", event="ACCOUNT_STATE"))
    active = deliver("biway", report("acc-9", "active", "2026-11-27T11:00:00Z", event="ACCOUNT_STATE"))

    process(context, rejected, active)

    assert get_store().get_registration(account.id).status == "rejected"  # type: ignore[union-attr]
    assert stored_event(active)["outcome"]["S"] == "unchanged"


def test_a_delivery_report_joins_the_message_history(providers, published, context) -> None:
    message = biway_message("msg-8841")
    sent_record = deliver("biway", report("msg-8841", "sent", "2026-11-27T10:00:01Z"))
    read_record = deliver("biway", report("msg-8841", "read", "2026-11-27T10:00:05Z", recipient="+33670000000"))
    delivered_record = deliver("biway", report("msg-8841", "delivered", "2026-11-27T10:00:03Z"))

    assert process(context, sent_record, read_record, delivered_record) == {"batchItemFailures": []}

    record = get_message_store().get_message(message.id)
    assert record is not None
    assert record.message.status == "read"  # the late `delivered` did not win
    assert [c.status for c in record.message.status_history][-3:] == ["sent", "read", "delivered"]
    assert stored_event(read_record)["message_id"]["S"] == message.id
    assert [e["detail-type"] for e in published()] == [
        "biway.message.sent",
        "biway.message.read",
        "biway.message.delivered",
    ]


def test_an_agent_state_goes_to_the_message_store(providers, published, context) -> None:
    now = datetime.now(UTC)
    agent = MessageItem(
        id="agent-1",
        provider="biway",
        connection="default",
        kind="agent",
        status="pending_verification",
        provider_ref="agt-77",
        created_at=now,
        updated_at=now,
    )
    get_message_store().create_message(agent)

    process(context, deliver("biway", report("agt-77", "active", "2026-11-27T10:00:00Z", event="AGENT_STATE")))

    assert get_message_store().get_message("agent-1").message.status == "active"  # type: ignore[union-attr]
    assert published()[0]["detail-type"] == "biway.agent.active"


def test_a_report_for_an_unknown_message_is_unmatched(providers, published, context) -> None:
    record = deliver("biway", report("msg-unknown", "read", "2026-11-27T10:00:05Z"))

    process(context, record)

    assert stored_event(record)["outcome"]["S"] == "unmatched"


def test_an_unknown_type_is_flagged_and_never_published(providers, published, context) -> None:
    record = deliver("biway", {"event_id": "x-1", "event": "INVOICE_READY", "resource_id": "inv-7"})

    assert process(context, record) == {"batchItemFailures": []}

    event = stored_event(record)
    assert event["status"]["S"] == "processed"
    assert event["outcome"]["S"] == "unrecognised"
    assert published() == []


# -- failures ------------------------------------------------------------------------------------


def test_a_poison_record_fails_alone_and_the_rest_of_the_batch_is_processed(providers, published, context) -> None:
    registration = smartregion_registration()
    before = deliver("smartregion", presence("tg-100500", "detection", "2026-11-27T09:00:00Z"))
    poison = stream_record({"pk": {"S": "EVENT#biway#broken"}, "sk": {"S": "EVENT"}, "entity": {"S": "event"}})
    after = deliver("smartregion", presence("tg-100500", "connection", "2026-11-27T10:00:00Z"))

    answer = process(context, before, poison, after)

    assert answer == {"batchItemFailures": [{"itemIdentifier": poison["dynamodb"]["SequenceNumber"]}]}
    assert stored_event(before)["status"]["S"] == stored_event(after)["status"]["S"] == "processed"
    assert get_store().get_registration(registration.id).presence.state == "connected"  # type: ignore[union-attr]
    assert len(published()) == 2


def test_when_eventbridge_refuses_the_record_is_retried_and_not_marked(
    providers, published, context, monkeypatch: pytest.MonkeyPatch
) -> None:
    registration = smartregion_registration()
    record = deliver("smartregion", presence("tg-100500", "connection", "2026-11-27T10:00:00Z"))
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
    from chatbridge.settings import get_settings

    get_settings.cache_clear()

    answer = process(context, record)

    assert answer == {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
    assert "status" not in stored_event(record)  # still `received`, so the retry publishes it
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    get_settings.cache_clear()
    assert process(context, record) == {"batchItemFailures": []}
    assert get_store().get_registration(registration.id).presence.state == "connected"  # type: ignore[union-attr]
    # the first attempt applied it: the retry publishes it as applied, once
    assert [e["detail"]["outcome"] for e in published()] == ["applied"]


def test_an_event_deleted_before_processing_is_skipped(providers, published, context) -> None:
    record = deliver("smartregion", presence("tg-1", "connection", "2026-11-27T10:00:00Z"))
    boto3.client("dynamodb").delete_item(TableName=TABLE, Key=record["dynamodb"]["Keys"])

    assert process(context, record) == {"batchItemFailures": []}
    assert published() == []


def test_the_stream_event_file_invokes_the_processor(providers, published, context) -> None:
    event = load_event("events_processor/new_event.json")
    (record,) = event["Records"]
    boto3.client("dynamodb").put_item(TableName=TABLE, Item=record["dynamodb"]["NewImage"])  # as ingestion did

    answer = events_processor_handler.lambda_handler(event, context)

    assert answer == {"batchItemFailures": []}
    (sent,) = published()
    assert sent["detail-type"] == "smartregion.user.connected"
    assert stored_event(record)["status"]["S"] == "processed"
