"""Operator lists: registrations, messages and events by provider, state and time, newest first.

Every list is a Query on gsi2 / gsi3 (never a Scan), every page bounded by `limit`; a status change
moves an item between the state lists; a broadcast's status is the aggregate of its recipients.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

import callbacks_handler
import messaging_handler
import registrations_handler
from chatbridge.errors import BadRequestError
from chatbridge.logic.messaging import to_resource
from chatbridge.message_statuses import aggregate_status
from chatbridge.store.dynamodb import DynamoStore
from chatbridge.store.items import MessageItem, RegistrationItem, StatusChange
from chatbridge.store.lists import EventFilters, MessageFilters, RegistrationFilters
from chatbridge.store.messages import DynamoMessageStore
from tests.support import API_KEY_CONTEXT, api_event, body_of
from tests.unit.events_support import deliver, event_bus_tap, presence, process, report, smartregion_registration
from tests.unit.test_message_store import NoScanClient

T0 = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
TABLE = "chatbridge-test"


@pytest.fixture
def published(aws: None, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[dict[str, Any]]]:
    return event_bus_tap(monkeypatch)


@pytest.fixture
def client(aws: None) -> NoScanClient:
    return NoScanClient(boto3.client("dynamodb"))


@pytest.fixture
def registrations(client: NoScanClient) -> DynamoStore:
    return DynamoStore(client, TABLE)  # type: ignore[arg-type]


@pytest.fixture
def messages(client: NoScanClient) -> DynamoMessageStore:
    return DynamoMessageStore(client, TABLE)  # type: ignore[arg-type]


def registration(
    n: int, provider: str = "biway", status: str = "active", connection: str = "default"
) -> RegistrationItem:
    created = T0 + timedelta(minutes=n)
    return RegistrationItem(
        id=f"reg-{n:03d}",
        provider=provider,
        connection=connection,
        status=status,
        user_id=f"user-{n}",
        created_at=created,
        updated_at=created,
    )


def every_page(fetch: Any, limit: int) -> tuple[list[list[str]], int]:
    """Every page's ids, following next_token to the end; and how many pages it took."""
    pages: list[list[str]] = []
    token = None
    while True:
        items, token = fetch(limit, token)
        assert len(items) <= limit
        pages.append([item.id for item in items])
        if token is None:
            return pages, len(pages)


# -- registrations -------------------------------------------------------------------------------


def test_a_providers_registrations_page_newest_first_without_repeats(registrations: DynamoStore, client) -> None:
    for n in range(7):
        registrations.save_registration(registration(n))
    registrations.save_registration(registration(50, provider="smartico"))  # another provider's list

    filters = RegistrationFilters(providers=["biway"])
    pages, count = every_page(lambda limit, token: registrations.list_registrations(filters, limit, token), 3)

    assert pages == [["reg-006", "reg-005", "reg-004"], ["reg-003", "reg-002", "reg-001"], ["reg-000"]]
    assert "scan" not in client.calls
    assert count == 3


def test_providers_lists_merge_newest_first_across_pages(registrations: DynamoStore) -> None:
    for n, provider in enumerate(["biway", "smartico", "biway", "imbee", "smartico", "biway", "imbee"]):
        registrations.save_registration(registration(n, provider=provider))

    filters = RegistrationFilters(providers=["biway", "smartico", "imbee"])
    pages, _ = every_page(lambda limit, token: registrations.list_registrations(filters, limit, token), 2)

    flat = [i for page in pages for i in page]
    assert flat == [f"reg-{n:03d}" for n in range(6, -1, -1)]


def test_filters_combine_status_connection_and_time(registrations: DynamoStore) -> None:
    registrations.save_registration(registration(1, status="active"))
    registrations.save_registration(registration(2, status="active", connection="eu"))
    registrations.save_registration(registration(3, status="rejected", connection="eu"))
    registrations.save_registration(registration(4, status="active", connection="eu"))
    registrations.save_registration(registration(9, status="active", connection="eu"))

    filters = RegistrationFilters(
        providers=["biway"],
        status="active",
        connection="eu",
        created_after=T0 + timedelta(minutes=2),
        created_before=T0 + timedelta(minutes=9),  # exclusive
    )
    items, token = registrations.list_registrations(filters, 10, None)

    assert [r.id for r in items] == ["reg-004", "reg-002"]
    assert token is None


def test_a_filtered_page_is_bounded_by_the_limit_and_may_be_short(registrations: DynamoStore) -> None:
    for n in range(6):
        registrations.save_registration(registration(n, connection="eu" if n == 0 else "default"))

    filters = RegistrationFilters(providers=["biway"], connection="eu")
    first, token = registrations.list_registrations(filters, 2, None)

    # Limit counts the items read before the filter: the newest two are not `eu`, the list goes on
    assert (first, token is not None) == ([], True)
    pages, _ = every_page(lambda limit, t: registrations.list_registrations(filters, limit, t), 2)
    assert [i for page in pages for i in page] == ["reg-000"]


def test_a_status_change_moves_a_registration_between_status_lists(registrations: DynamoStore) -> None:
    registrations.save_registration(registration(1, status="pending_verification"))
    pending = RegistrationFilters(providers=["biway"], status="pending_verification")
    active = RegistrationFilters(providers=["biway"], status="active")
    assert [r.id for r in registrations.list_registrations(pending, 10, None)[0]] == ["reg-001"]

    assert registrations.apply_verification_status("reg-001", "active", "2026-11-27T10:05:00.000000Z#1")

    assert registrations.list_registrations(pending, 10, None)[0] == []
    assert [r.status for r in registrations.list_registrations(active, 10, None)[0]] == ["active"]


def test_a_re_registration_keeps_its_place_in_the_list(registrations: DynamoStore) -> None:
    registrations.save_registration(registration(1))
    registrations.save_registration(registration(2))
    again = registration(1).model_copy(update={"created_at": T0 + timedelta(hours=5), "status": "rejected"})
    registrations.save_registration(again)

    everything = RegistrationFilters(providers=["biway"])
    rejected = RegistrationFilters(providers=["biway"], status="rejected")
    assert [r.id for r in registrations.list_registrations(everything, 10, None)[0]] == ["reg-002", "reg-001"]
    assert [r.id for r in registrations.list_registrations(rejected, 10, None)[0]] == ["reg-001"]


def test_a_registration_stored_before_the_lists_gets_its_place_when_saved_again(
    registrations: DynamoStore,
) -> None:
    legacy = registration(1)
    values = {**legacy.model_dump(mode="json"), **legacy.key(legacy.id)}
    boto3.client("dynamodb").put_item(
        TableName=TABLE, Item={k: {"S": v} for k, v in values.items() if isinstance(v, str)}
    )
    everything = RegistrationFilters(providers=["biway"])
    assert registrations.list_registrations(everything, 10, None)[0] == []

    registrations.save_registration(legacy.model_copy(update={"created_at": T0 + timedelta(days=3)}))

    ((listed,),) = [registrations.list_registrations(everything, 10, None)[0]]
    assert listed.created_at == T0 + timedelta(minutes=1)
    stored = boto3.client("dynamodb").get_item(TableName=TABLE, Key={"pk": {"S": "REG#reg-001"}, "sk": {"S": "REG"}})
    assert stored["Item"]["gsi2sk"]["S"].startswith("2026-11-27T10:01:00")


def test_a_token_of_one_list_is_refused_by_another(registrations: DynamoStore) -> None:
    for n in range(3):
        registrations.save_registration(registration(n))
    _, token = registrations.list_registrations(RegistrationFilters(providers=["biway"]), 1, None)
    assert token

    for other in (
        RegistrationFilters(providers=["smartico"]),
        RegistrationFilters(providers=["biway"], status="active"),
        RegistrationFilters(providers=["biway"], connection="eu"),
        RegistrationFilters(providers=["biway", "smartico"]),
    ):
        with pytest.raises(BadRequestError):
            registrations.list_registrations(other, 1, token)
    with pytest.raises(BadRequestError):
        registrations.find_registrations("biway", "user-1", 1, token)


def test_the_presence_state_filters_smartregion_registrations(providers, published, context) -> None:
    connected = smartregion_registration(user_id="tg-1")
    smartregion_registration(user_id="tg-2")
    process(context, deliver("smartregion", presence("tg-1", "connection", "2026-11-27T10:00:00Z")))

    response = registrations_handler.lambda_handler(
        api_event("GET", "/v1/registrations", query={"provider": "smartregion", "presence": "connected"}), context
    )

    assert response["statusCode"] == 200, response["body"]
    assert [r["id"] for r in body_of(response)["items"]] == [connected.id]


# -- the routes ------------------------------------------------------------------------------------


def list_via(handler: Any, path: str, context: Any, authorizer: dict[str, Any] | None = None, **query: str) -> Any:
    event = api_event("GET", path, query=query or None, authorizer=authorizer or API_KEY_CONTEXT)
    return handler.lambda_handler(event, context)


def test_get_registrations_without_a_filter_lists_and_pages(registrations: DynamoStore, context) -> None:
    for n, provider in enumerate(["biway", "smartico", "biway"]):
        registrations.save_registration(registration(n, provider=provider))

    first = list_via(registrations_handler, "/v1/registrations", context, limit="2")
    assert first["statusCode"] == 200, first["body"]
    page = body_of(first)
    rest = body_of(
        list_via(registrations_handler, "/v1/registrations", context, limit="2", next_token=page["next_token"])
    )

    assert [r["id"] for r in page["items"] + rest["items"]] == ["reg-002", "reg-001", "reg-000"]
    assert rest["next_token"] is None


def test_a_key_limited_to_a_provider_lists_that_providers_registrations_only(
    registrations: DynamoStore, context
) -> None:
    registrations.save_registration(registration(1, provider="biway"))
    registrations.save_registration(registration(2, provider="smartico"))
    limited = {**API_KEY_CONTEXT, "scopes": "registrations:read", "providers": "biway"}

    everything = body_of(list_via(registrations_handler, "/v1/registrations", context, limited))
    refused = list_via(registrations_handler, "/v1/registrations", context, limited, provider="smartico")

    assert [r["provider"] for r in everything["items"]] == ["biway"]
    assert refused["statusCode"] == 403


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"user_id": "u-1"}, "provider"),
        ({"provider": "biway", "user_id": "u-1", "status": "active"}, "status"),
        ({"status": "Not A Status"}, "status"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_after": "2026-11-27T10:00:00Z", "created_before": "2026-11-27T10:00:00Z"}, "created_after"),
        ({"limit": "101"}, "limit"),
    ],
)
def test_bad_list_queries_are_422_problems(aws, context, query: dict[str, str], field: str) -> None:
    response = list_via(registrations_handler, "/v1/registrations", context, **query)

    assert response["statusCode"] == 422, response["body"]
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert field in {e["field"].split(".")[-1] for e in body_of(response)["errors"]}


def test_a_time_without_zone_is_utc(registrations: DynamoStore, context) -> None:
    registrations.save_registration(registration(1))
    registrations.save_registration(registration(3))

    response = list_via(registrations_handler, "/v1/registrations", context, created_after="2026-11-27T10:02:00")

    assert [r["id"] for r in body_of(response)["items"]] == ["reg-003"]


# -- messages --------------------------------------------------------------------------------------


def message(
    n: int, *, kind: str = "submit", status: str = "accepted", recipients: int = 1, **extra: Any
) -> MessageItem:
    created = T0 + timedelta(minutes=n)
    return MessageItem(
        id=f"msg-{n:03d}",
        provider="biway",
        connection="default",
        kind=kind,
        status=status,
        provider_ref=f"ref-{n}",
        recipients=recipients,
        per_recipient=recipients > 1,
        status_history=[StatusChange(status=status, at=created)],
        created_at=created,
        updated_at=created,
        **extra,
    )


def test_messages_list_by_kind_and_status_and_move_on_a_report(messages: DynamoMessageStore) -> None:
    messages.create_message(message(1))
    messages.create_message(message(2, kind="template"))
    messages.create_message(message(3))
    submits = MessageFilters(providers=["biway"], kind="submit")
    read = MessageFilters(providers=["biway"], status="read")
    assert [m.id for m in messages.list_messages(submits, 10, None)[0]] == ["msg-003", "msg-001"]

    assert messages.apply_status("biway", "ref-1", "read", T0 + timedelta(hours=1), "ev-1", None)

    assert [m.id for m in messages.list_messages(read, 10, None)[0]] == ["msg-001"]
    accepted = MessageFilters(providers=["biway"], status="accepted", kind="submit")
    assert [m.id for m in messages.list_messages(accepted, 10, None)[0]] == ["msg-003"]


def test_get_messages_lists_newest_first(messages: DynamoMessageStore, context) -> None:
    for n in range(3):
        messages.create_message(message(n))

    response = list_via(messaging_handler, "/v1/messages", context, provider="biway", limit="2")

    assert response["statusCode"] == 200, response["body"]
    page = body_of(response)
    assert [m["id"] for m in page["items"]] == ["msg-002", "msg-001"]
    assert page["next_token"]


RECIPIENTS = ["+33600000001", "+33600000002", "+33600000003"]
REPORTS = [
    ("+33600000001", "delivered", 1),
    ("+33600000001", "read", 2),
    ("+33600000002", "delivered", 3),
    ("+33600000002", "read", 4),
    ("+33600000003", "delivered", 5),
    ("+33600000003", "read", 6),
]


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(REPORTS))))[::97])
def test_a_broadcast_aggregates_its_recipients_whatever_the_order(messages: DynamoMessageStore, order) -> None:
    messages.create_message(message(1, kind="broadcast", recipients=3))

    for i in order:
        recipient, state, seconds = REPORTS[i]
        messages.apply_status("biway", "ref-1", state, T0 + timedelta(seconds=seconds), f"ev-{i}", recipient)

    record = messages.get_message("msg-001")
    assert record is not None
    assert record.message.recipient_counts == {"read": 3}
    assert to_resource(record.message).status == "read"
    read = MessageFilters(providers=["biway"], status="read")
    assert [m.id for m in messages.list_messages(read, 10, None)[0]] == ["msg-001"]


def test_a_broadcast_in_progress_is_as_far_as_its_slowest_recipient(messages: DynamoMessageStore) -> None:
    messages.create_message(message(1, kind="broadcast", recipients=3))
    messages.apply_status("biway", "ref-1", "read", T0 + timedelta(seconds=2), "ev-1", RECIPIENTS[0])
    messages.apply_status("biway", "ref-1", "delivered", T0 + timedelta(seconds=3), "ev-2", RECIPIENTS[1])
    messages.apply_status("biway", "ref-1", "delivered", T0 + timedelta(seconds=3), "ev-2", RECIPIENTS[1])  # repeat

    record = messages.get_message("msg-001")
    assert record is not None
    resource = to_resource(record.message)
    assert resource.recipient_counts == {"accepted": 1, "delivered": 1, "read": 1}
    assert resource.status == "accepted"

    messages.apply_status("biway", "ref-1", "failed", T0 + timedelta(seconds=4), "ev-3", RECIPIENTS[2])
    record = messages.get_message("msg-001")
    assert record is not None
    assert aggregate_status(record.message) == "partially_failed"
    partial = MessageFilters(providers=["biway"], status="partially_failed")
    assert [m.id for m in messages.list_messages(partial, 10, None)[0]] == ["msg-001"]


def test_a_recipient_moved_by_a_concurrent_report_is_counted_once(
    messages: DynamoMessageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a report that reads a recipient, then loses the race to another report on it
    messages.create_message(message(1, kind="broadcast", recipients=3))
    messages.apply_status("biway", "ref-1", "delivered", T0 + timedelta(seconds=1), "ev-1", RECIPIENTS[0])
    real_status_of = messages._status_of
    raced: list[bool] = []

    def read_then_lose_the_race(key: dict[str, str]) -> str | None:
        seen = real_status_of(key)
        if not raced:
            raced.append(True)
            messages.apply_status("biway", "ref-1", "read", T0 + timedelta(seconds=2), "ev-2", RECIPIENTS[0])
        return seen

    monkeypatch.setattr(messages, "_status_of", read_then_lose_the_race)

    # When its transaction fails on the status it read, it reads again and applies (or not) once
    messages.apply_status("biway", "ref-1", "failed", T0 + timedelta(seconds=3), "ev-3", RECIPIENTS[0])

    record = messages.get_message("msg-001")
    assert record is not None
    assert record.message.recipient_counts == {"failed": 1}
    assert record.message.recipient_reports == 3
    assert [r.status for r in record.recipients] == ["failed"]


# -- events ----------------------------------------------------------------------------------------


def test_events_list_by_provider_outcome_and_type_newest_first(providers, published, context) -> None:
    smartregion_registration(user_id="tg-1")
    records = [
        deliver("smartregion", presence("tg-1", "connection", "2026-11-27T10:00:00Z")),
        deliver("smartregion", presence("nobody", "connection", "2026-11-27T10:01:00Z")),
        deliver("smartregion", presence("tg-1", "disconnection", "2026-11-27T10:02:00Z")),
        deliver("biway", report("msg-none", "read", "2026-11-27T10:03:00Z")),
    ]
    process(context, *records)

    def listed(**query: str) -> list[tuple[str, str, str]]:
        response = list_via(callbacks_handler, "/v1/events", context, **query)
        assert response["statusCode"] == 200, response["body"]
        return [(e["provider"], e["type"], e["outcome"]) for e in body_of(response)["items"]]

    assert listed(provider="smartregion") == [
        ("smartregion", "disconnection", "applied"),
        ("smartregion", "connection", "unmatched"),
        ("smartregion", "connection", "applied"),
    ]
    assert listed(provider="smartregion", outcome="unmatched") == [("smartregion", "connection", "unmatched")]
    assert listed(provider="smartregion", type="disconnection") == [("smartregion", "disconnection", "applied")]
    assert listed(outcome="unmatched") == [
        ("biway", "MESSENGER_REPORT", "unmatched"),
        ("smartregion", "connection", "unmatched"),
    ]


def test_an_unmatched_event_applied_late_moves_to_the_applied_list(providers, published, context) -> None:
    from chatbridge.logic.events import apply_late_events
    from chatbridge.store.base import get_event_store

    process(context, deliver("smartregion", presence("tg-late", "connection", "2026-11-27T10:00:00Z")))
    unmatched = EventFilters(providers=["smartregion"], outcome="unmatched")
    assert len(get_event_store().list_events(unmatched, 10, None)[0]) == 1

    registration = smartregion_registration(user_id="tg-late")
    assert apply_late_events("smartregion", "tg-late") == 1

    assert get_event_store().list_events(unmatched, 10, None)[0] == []
    applied = EventFilters(providers=["smartregion"], outcome="applied")
    (event,) = get_event_store().list_events(applied, 10, None)[0]
    assert event.registration_ids == [registration.id]


def test_the_spec_documents_every_list_parameter() -> None:
    import meta_handler
    from chatbridge.routes.meta import openapi_document

    paths = openapi_document(meta_handler.every_route())["paths"]
    expected = {
        "/v1/registrations": {
            "provider",
            "user_id",
            "connection",
            "status",
            "presence",
            "created_after",
            "created_before",
        },
        "/v1/messages": {"provider", "connection", "kind", "status", "created_after", "created_before"},
        "/v1/events": {"provider", "type", "outcome", "received_after", "received_before", "registration_id"},
    }
    for path, names in expected.items():
        parameters = {p["name"]: p for p in paths[path]["get"]["parameters"]}
        assert names | {"limit", "next_token"} <= set(parameters), path
        assert all(parameters[name].get("description") for name in names), path
    assert json.dumps(paths["/v1/messages"]["get"]["responses"]["200"])
