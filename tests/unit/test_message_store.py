"""The message store: records, provider-ref pointers and status updates that arrive out of order."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from chatbridge.logic import messaging
from chatbridge.message_statuses import our_status
from chatbridge.store.base import get_message_store
from chatbridge.store.items import MessageItem, StatusChange, sortable_time
from chatbridge.store.messages import DynamoMessageStore, MessageIdTakenError
from tests.unit.conftest import table_items

T0 = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)


class NoScanClient:
    """The real (mocked) client, refusing Scan and counting calls."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name == "scan":
            raise AssertionError("the product never scans")
        self.calls.append(name)
        return getattr(self._client, name)


@pytest.fixture
def store(aws) -> DynamoMessageStore:  # type: ignore[no-untyped-def]
    return DynamoMessageStore(NoScanClient(boto3.client("dynamodb")), "chatbridge-test")  # type: ignore[arg-type]


def message(
    message_id: str = "m-1", *, ref: str | None = "ref-1", per_recipient: bool = False, **extra: Any
) -> MessageItem:
    return MessageItem(
        id=message_id,
        provider="biway",
        connection="default",
        kind="broadcast" if per_recipient else "submit",
        status="accepted",
        provider_ref=ref,
        recipients=3 if per_recipient else 1,
        per_recipient=per_recipient,
        status_history=[StatusChange(status="accepted", at=T0)],
        created_at=T0,
        updated_at=T0,
        **extra,
    )


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_created_message_is_read_back_with_its_pointer(store) -> None:
    store.create_message(message(details={"request": {"text": "Ça va ? 🚀", "price": 9.5}}))

    record = store.get_message("m-1")

    assert record is not None
    assert record.message == message(details={"request": {"text": "Ça va ? 🚀", "price": 9.5}})
    assert record.recipients == []
    pointers = [i for i in table_items() if i["pk"]["S"] == "MSGREF#biway#ref-1"]
    assert pointers[0]["message_id"] == {"S": "m-1"}
    assert store.find_message_by_provider_ref("biway", "ref-1") == record.message
    assert store.find_message_by_provider_ref("biway", "other") is None


def test_a_message_without_provider_ref_has_no_pointer(store) -> None:
    store.create_message(message(ref=None))

    assert [i["pk"]["S"] for i in table_items()] == ["MSG#m-1"]


def test_an_id_cannot_be_taken_twice(store) -> None:
    store.create_message(message())

    with pytest.raises(MessageIdTakenError):
        store.create_message(message(ref="ref-2"))
    assert store.find_message_by_provider_ref("biway", "ref-2") is None  # the transaction wrote nothing


def test_logic_gives_a_fresh_id_when_the_derived_one_is_taken(store) -> None:
    store.create_message(message())

    saved = messaging._save(store, message(ref="ref-2"))

    assert saved.id != "m-1"
    assert store.get_message(saved.id) is not None


def test_newer_statuses_replace_the_current_one_and_join_the_history(store) -> None:
    store.create_message(message())

    assert store.apply_status("biway", "ref-1", "sent", at(1), "e-1", None) is True
    assert store.apply_status("biway", "ref-1", "delivered", at(2), "e-2", "+33670000000") is True

    record = store.get_message("m-1")
    assert record is not None
    assert record.message.status == "delivered"
    assert record.message.status_at == at(2)
    assert [(c.status, c.event_id, c.recipient) for c in record.message.status_history] == [
        ("accepted", None, None),
        ("sent", "e-1", None),
        ("delivered", "e-2", "+33670000000"),
    ]


def test_an_older_event_joins_the_history_without_replacing_the_status(store) -> None:
    store.create_message(message())
    store.apply_status("biway", "ref-1", "read", at(5), "e-read", None)

    changed = store.apply_status("biway", "ref-1", "delivered", at(3), "e-delivered", None)

    assert changed is True
    record = store.get_message("m-1")
    assert record is not None
    assert record.message.status == "read"
    assert {c.event_id for c in record.message.status_history} == {None, "e-read", "e-delivered"}
    # the API shows the history in time order, whatever the arrival order
    resource = messaging.to_resource(record.message)
    assert [c.status for c in resource.status_history] == ["accepted", "delivered", "read"]


def test_the_same_event_twice_changes_nothing(store) -> None:
    store.create_message(message())
    store.apply_status("biway", "ref-1", "delivered", at(2), "e-1", None)
    before = store.get_message("m-1")

    assert store.apply_status("biway", "ref-1", "delivered", at(2), "e-1", None) is False
    # even when replayed "late" (older than the current status)
    store.apply_status("biway", "ref-1", "read", at(9), "e-2", None)
    assert store.apply_status("biway", "ref-1", "delivered", at(2), "e-1", None) is False

    after = store.get_message("m-1")
    assert before is not None and after is not None
    assert [c.event_id for c in after.message.status_history] == [None, "e-1", "e-2"]


def test_at_the_same_instant_the_further_status_wins(store) -> None:
    store.create_message(message())
    store.apply_status("biway", "ref-1", "read", at(2), "e-read", None)

    store.apply_status("biway", "ref-1", "delivered", at(2), "e-delivered", None)

    record = store.get_message("m-1")
    assert record is not None
    assert record.message.status == "read"


def test_unknown_reference_changes_nothing(store) -> None:
    assert store.apply_status("biway", "no-such-ref", "delivered", at(1), "e-1", None) is False
    assert table_items() == []


def test_provider_words_are_mapped_and_unknown_ones_kept(store) -> None:
    store.create_message(message())

    # the vocabulary maps a provider's word before the store records it
    store.apply_status("biway", "ref-1", our_status("biway", "DISPLAYED"), at(1), "e-1", None)
    assert store.get_message("m-1").message.status == "read"  # type: ignore[union-attr]
    store.apply_status("biway", "ref-1", our_status("biway", "Bounced_By_Carrier"), at(2), "e-2", None)
    assert store.get_message("m-1").message.status == "bounced_by_carrier"  # type: ignore[union-attr]
    assert our_status("biway", "undelivered") == "failed"
    assert our_status("imbee", "delivered") == "delivered"


def test_naive_times_are_taken_as_utc(store) -> None:
    store.create_message(message())

    store.apply_status("biway", "ref-1", "sent", datetime(2026, 11, 27, 10, 0, 1), "e-1", None)

    assert store.get_message("m-1").message.status_at == at(1)  # type: ignore[union-attr]
    assert sortable_time(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000000Z"


def test_broadcast_recipients_get_their_own_records(store) -> None:
    # Given a broadcast to three recipients
    store.create_message(message("b-1", ref="bc-1", per_recipient=True))

    # When callbacks report on two of them, out of order and twice
    store.apply_status("biway", "bc-1", "delivered", at(2), "e-1", "+33600000001")
    store.apply_status("biway", "bc-1", "sent", at(1), "e-2", "+33600000001")
    store.apply_status("biway", "bc-1", "failed", at(3), "e-3", "+33600000002")
    assert store.apply_status("biway", "bc-1", "failed", at(3), "e-3", "+33600000002") is False

    # Then each reported recipient has its status and history; the request record is untouched
    record = store.get_message("b-1")
    assert record is not None
    assert record.message.status == "accepted"
    assert len(record.message.status_history) == 1
    by_recipient = {r.recipient: r for r in record.recipients}
    assert set(by_recipient) == {"+33600000001", "+33600000002"}
    assert by_recipient["+33600000001"].status == "delivered"
    assert sorted(c.status for c in by_recipient["+33600000001"].status_history) == ["delivered", "sent"]
    assert by_recipient["+33600000002"].status == "failed"
    assert all(r.message_id == "b-1" for r in record.recipients)


def test_recipient_statuses_are_paged(store) -> None:
    store.create_message(message("b-2", ref="bc-2", per_recipient=True))
    for n in range(5):
        store.apply_status("biway", "bc-2", "delivered", at(n), f"e-{n}", f"+3360000000{n}")

    first = store.get_message("b-2", recipients_limit=2)
    assert first is not None and first.next_token
    rest = store.get_message("b-2", recipients_limit=10, next_token=first.next_token)
    assert rest is not None

    seen = [r.recipient for r in first.recipients + rest.recipients]
    assert sorted(seen) == [f"+3360000000{n}" for n in range(5)]
    assert len(set(seen)) == 5


def test_a_next_token_of_another_message_is_refused(store) -> None:
    from chatbridge.errors import BadRequestError

    for name in ("b-3", "b-4"):
        store.create_message(message(name, ref=name, per_recipient=True))
        for n in range(3):
            store.apply_status("biway", name, "sent", at(n), f"{name}-{n}", f"+3361000000{n}")
    token = store.get_message("b-3", recipients_limit=1).next_token  # type: ignore[union-attr]

    with pytest.raises(BadRequestError):
        store.get_message("b-4", next_token=token)


def test_the_factory_builds_one_store_per_client(aws) -> None:
    assert get_message_store() is get_message_store()


def test_the_store_uses_only_keyed_reads_and_conditional_writes(store) -> None:
    store.create_message(message("b-5", ref="bc-5", per_recipient=True))
    store.apply_status("biway", "bc-5", "sent", at(1), "e-1", "+33600000009")
    store.get_message("b-5")
    store.find_message_by_provider_ref("biway", "bc-5")

    assert set(store._client.calls) <= {"transact_write_items", "get_item", "query", "update_item"}  # type: ignore[attr-defined]


# -- messages stored `unknown` ------------------------------------------------------------------


def unknown(message_id: str, created_at: datetime) -> MessageItem:
    return message(message_id, ref=None).model_copy(
        update={
            "status": "unknown",
            "status_history": [StatusChange(status="unknown", at=created_at)],
            "created_at": created_at,
            "updated_at": created_at,
        }
    )


def test_unknown_messages_are_found_by_their_match_keys_from_a_time_on(store) -> None:
    store.create_message(unknown("u-old", T0), ["recipient:33670000000"])
    store.create_message(unknown("u-new", at(60)), ["recipient:33670000000", "recipient:33670000001"])
    store.create_message(message("known"), ["recipient:33670000000"])  # not unknown: never a candidate

    assert [m.id for m in store.unknown_messages("biway", "recipient:33670000000", at(1))] == ["u-new"]
    assert [m.id for m in store.unknown_messages("biway", "recipient:33670000000", T0)] == ["u-old", "u-new"]
    assert [m.id for m in store.unknown_messages("biway", "recipient:33670000001", T0)] == ["u-new"]
    assert store.unknown_messages("smartico", "recipient:33670000000", T0) == []
    assert "scan" not in store._client.calls


def test_resolving_an_unknown_message_gives_it_a_reference_once(store) -> None:
    store.create_message(unknown("u-1", T0), ["recipient:33670000000"])
    (candidate,) = store.unknown_messages("biway", "recipient:33670000000", T0)

    resolved = store.resolve_unknown(candidate, status="accepted", provider_ref="msg_9", note="reported")

    assert resolved is not None
    assert (resolved.status, resolved.provider_ref, resolved.details["resolution"]) == ("accepted", "msg_9", "reported")
    assert resolved.status_at is None  # ours: the first report still replaces it
    assert store.find_message_by_provider_ref("biway", "msg_9") == resolved
    assert store.unknown_messages("biway", "recipient:33670000000", T0) == []
    # a second resolution (another report, another process) changes nothing
    assert store.resolve_unknown(candidate, status="accepted", provider_ref="msg_other", note="again") is None
    assert store.find_message_by_provider_ref("biway", "msg_other") is None
    # and the provider's first report replaces our status, whatever its time
    assert store.apply_status("biway", "msg_9", "sent", T0 - timedelta(days=1), "e-1", None) is True
    record = store.get_message("u-1")
    assert record is not None
    assert record.message.status == "sent"


def test_pointers_to_an_unknown_message_expire_a_day_after_it(store) -> None:
    store.create_message(unknown("u-1", T0), ["recipient:33670000000"])

    (pointer,) = [i for i in table_items() if i["pk"]["S"].startswith("UNKNOWN#")]

    assert pointer["pk"]["S"] == "UNKNOWN#biway#recipient:33670000000"
    assert int(pointer["expires_at"]["N"]) == int((T0 + timedelta(days=1)).timestamp())


def test_whatever_a_provider_answers_can_be_stored(store) -> None:
    # a provider's answer kept with the message: an empty member name and nesting deeper than DynamoDB keeps
    deep: dict[str, Any] = {"leaf": True}
    for _ in range(40):
        deep = {"level": deep}
    answer = {"": "empty name", "nested": {"": 1}, "deep": deep}

    store.create_message(message(details={"provider_answer": answer}))

    stored = store.get_message("m-1")
    assert stored is not None
    kept = stored.message.details["provider_answer"]
    assert kept["(empty)"] == "empty name" and kept["nested"] == {"(empty)": 1}
    assert "leaf" in json.dumps(kept["deep"])  # the deep part is kept, as JSON text below the limit
