"""The operator lists on a real connection: the indexes of template.yaml exist in DynamoDB Local,
and the lists' Queries (key ranges, filters on nested attributes, merged pages) run there."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import boto3
import httpx

from chatbridge.store.items import MessageItem, RegistrationItem, StatusChange
from chatbridge.store.lists import MessageFilters, RegistrationFilters
from chatbridge.store.messages import DynamoMessageStore
from local.stack import LocalStack
from local.template import table_definition

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_the_list_indexes_exist_as_the_template_declares_them(stack: LocalStack) -> None:
    described = boto3.client("dynamodb").describe_table(TableName=stack.table_name)["Table"]
    declared = {i["IndexName"]: i["KeySchema"] for i in table_definition(stack.table_name)["GlobalSecondaryIndexes"]}

    assert {i["IndexName"]: i["KeySchema"] for i in described["GlobalSecondaryIndexes"]} == declared
    assert {"gsi2", "gsi3"} <= set(declared)


def test_registrations_list_by_status_and_time_over_http(stack: LocalStack, api: httpx.Client) -> None:
    from chatbridge.store import get_store

    store = get_store()
    tag = uuid.uuid4().hex[:8]
    for n, status in enumerate(["active", "pending_verification", "active", "active"]):
        at = T0 + timedelta(minutes=n)
        store.save_registration(
            RegistrationItem(
                id=f"live-{tag}-{n}",
                provider="biway",
                connection=f"c-{tag}",
                status=status,
                user_id=f"u-{tag}-{n}",
                created_at=at,
                updated_at=at,
            )
        )
    query = {"provider": "biway", "connection": f"c-{tag}", "status": "active", "limit": "2"}

    first = api.get("/v1/registrations", params=query)
    assert first.status_code == 200, first.text
    page = first.json()
    items = list(page["items"])
    token = page["next_token"]
    while token:
        more = api.get("/v1/registrations", params={**query, "next_token": token}).json()
        items += more["items"]
        token = more["next_token"]

    assert [r["id"] for r in items] == [f"live-{tag}-3", f"live-{tag}-2", f"live-{tag}-0"]
    ranged = api.get(
        "/v1/registrations",
        params={
            "provider": "biway",
            "connection": f"c-{tag}",
            "created_after": "2026-11-27T10:01:00Z",
            "created_before": "2026-11-27T10:03:00Z",
        },
    )
    assert [r["id"] for r in ranged.json()["items"]] == [f"live-{tag}-2", f"live-{tag}-1"]

    assert store.apply_verification_status(f"live-{tag}-1", "active", "2026-11-27T10:09:00.000000Z#e")
    active = store.list_registrations(
        RegistrationFilters(providers=["biway"], status="active", connection=f"c-{tag}"), 10, None
    )[0]
    assert len(active) == 4


def test_a_broadcast_aggregate_and_its_list_move_on_a_real_table(stack: LocalStack) -> None:
    store = DynamoMessageStore(boto3.client("dynamodb"), stack.table_name)
    message_id = f"live-{uuid.uuid4().hex[:8]}"
    recipients = ["+33600000001", "+33600000002"]
    store.create_message(
        MessageItem(
            id=message_id,
            provider="biway",
            connection="default",
            kind="broadcast",
            status="accepted",
            provider_ref=f"ref-{message_id}",
            recipients=2,
            per_recipient=True,
            status_history=[StatusChange(status="accepted", at=T0)],
            created_at=T0,
            updated_at=T0,
        )
    )
    for n, (recipient, state) in enumerate(
        [(recipients[1], "read"), (recipients[0], "delivered"), (recipients[0], "read")]
    ):
        assert store.apply_status(
            "biway", f"ref-{message_id}", state, T0 + timedelta(seconds=n + 1), f"e{n}", recipient
        )

    record = store.get_message(message_id)
    assert record is not None
    assert record.message.recipient_counts == {"read": 2}
    read = store.list_messages(MessageFilters(providers=["biway"], status="read", kind="broadcast"), 100, None)[0]
    assert message_id in [m.id for m in read]
