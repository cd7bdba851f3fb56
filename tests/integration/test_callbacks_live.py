"""Provider webhooks through the dev server, and the events processor fed by DynamoDB Local's stream."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest

from local.stack import LocalStack


def wait_for(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def registered_user(api: httpx.Client) -> dict[str, Any]:
    user_id = f"tg-{uuid.uuid4().hex[:10]}"
    created = api.post("/v1/registrations", json={"provider": "smartregion", "user_id": user_id, "payload": "P"})
    assert created.status_code == 201, created.text
    resource: dict[str, Any] = created.json()
    return resource


def events_of(api: httpx.Client, registration_id: str) -> list[dict[str, Any]]:
    page = api.get("/v1/events", params={"registration_id": registration_id})
    assert page.status_code == 200, page.text
    items: list[dict[str, Any]] = page.json()["items"]
    return items


def event_items(stack: LocalStack, provider: str, subject_ref: str) -> list[dict[str, Any]]:
    answer = boto3.client("dynamodb").query(
        TableName=stack.table_name,
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"EVSUBJECT#{provider}#{subject_ref}"}},
    )
    items: list[dict[str, Any]] = answer["Items"]
    return items


@pytest.fixture(autouse=True)
def _empty_queues(stack: LocalStack) -> None:
    assert stack.events is not None
    stack.events.wait_until_processed()
    stack.events.published()
    stack.events.dead_letters()


def test_a_presence_webhook_reaches_the_registration_and_eventbridge(api: httpx.Client, stack: LocalStack) -> None:
    registration = registered_user(api)

    status = stack.simulator.report_presence(registration["user_id"], "connection")

    assert status == 200
    assert stack.events is not None
    current = wait_for(lambda: api.get(f"/v1/registrations/{registration['id']}").json().get("presence"))
    assert current["state"] == "connected"
    (event,) = events_of(api, registration["id"])
    assert event["status"] == "processed"
    assert event["outcome"] == "applied"
    assert event["data"]["user_id"] == registration["user_id"]
    published = stack.events.published(wait_seconds=5)
    assert [(e["detail-type"], e["detail"]["registration_ids"]) for e in published] == [
        ("smartregion.user.connected", [registration["id"]])
    ]


def test_out_of_order_presence_ends_on_the_newest(api: httpx.Client, stack: LocalStack) -> None:
    registration = registered_user(api)
    now = datetime.now(UTC)

    stack.simulator.report_presence(registration["user_id"], "disconnection", at=now)
    stack.simulator.report_presence(registration["user_id"], "connection", at=now - timedelta(minutes=5))

    wait_for(lambda: all(e["status"] == "processed" for e in events_of(api, registration["id"]) or [{"status": ""}]))
    wait_for(lambda: len(events_of(api, registration["id"])) == 2)
    assert api.get(f"/v1/registrations/{registration['id']}").json()["presence"]["state"] == "disconnected"
    outcomes = {e["type"]: e["outcome"] for e in events_of(api, registration["id"])}
    assert outcomes == {"connection": "unchanged", "disconnection": "applied"}


def test_ten_concurrent_deliveries_of_one_event_are_stored_and_applied_once(
    api: httpx.Client, stack: LocalStack
) -> None:
    registration = registered_user(api)
    body = json.dumps({"event": "detection", "user_id": registration["user_id"], "time": datetime.now(UTC).isoformat()})
    url = stack.callback_url("smartregion")

    def post(_: int) -> httpx.Response:
        return httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=30)

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(post, range(10)))

    assert [a.status_code for a in answers] == [200] * 10
    assert sorted(a.json()["duplicate"] for a in answers) == [False] + [True] * 9
    assert len({a.json()["id"] for a in answers}) == 1
    assert len(event_items(stack, "smartregion", registration["user_id"])) == 1
    assert stack.events is not None
    assert stack.events.wait_until_processed()
    assert len(stack.events.published(wait_seconds=3)) == 1


def test_a_poison_record_goes_to_the_dead_letter_queue_without_blocking_others(
    api: httpx.Client, stack: LocalStack
) -> None:
    registration = registered_user(api)
    # an event item the processor cannot read: written past the API, as a bug or a bad migration would
    boto3.client("dynamodb").put_item(
        TableName=stack.table_name,
        Item={"pk": {"S": f"EVENT#biway#poison-{uuid.uuid4()}"}, "sk": {"S": "EVENT"}, "entity": {"S": "event"}},
    )
    stack.simulator.report_presence(registration["user_id"], "connection")

    assert wait_for(lambda: api.get(f"/v1/registrations/{registration['id']}").json().get("presence"))
    assert stack.events is not None
    letters = stack.events.dead_letters(wait_seconds=10)
    (letter,) = letters
    assert letter["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert f"table/{stack.table_name}/stream/" in letter["DDBStreamBatchInfo"]["streamArn"]


@pytest.mark.parametrize(
    ("path_token", "content", "status"),
    [
        ("wrong-token", b'{"event": "connection", "user_id": "u"}', 401),
        (None, b'{"event": "connection", ', 400),
        (None, b"[1, 2]", 422),
    ],
)
def test_refused_deliveries_store_nothing(
    stack: LocalStack, path_token: str | None, content: bytes, status: int
) -> None:
    url = stack.callback_url("smartregion")
    if path_token:
        url = url.rsplit("/", 1)[0] + "/" + path_token

    response = httpx.post(url, content=content, headers={"content-type": "application/json"})

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert event_items(stack, "smartregion", "u") == []


def test_unknown_shapes_are_kept_and_flagged(stack: LocalStack) -> None:
    marker = uuid.uuid4().hex

    response = httpx.post(stack.callback_url("biway"), json={"event": "SOMETHING_NEW", "resource_id": marker})

    assert response.status_code == 200
    assert response.json()["recognised"] is False
    (item,) = event_items(stack, "biway", marker)
    assert item["recognised"] == {"BOOL": False}


def test_a_bi_way_message_lists_its_reports_and_publishes_them(api: httpx.Client, stack: LocalStack) -> None:
    sent = api.post("/v1/messages", json={"provider": "biway", "recipient": "+33670000000", "text": "Bonjour"})
    assert sent.status_code in (201, 202), sent.text
    message_id = sent.json()["id"]

    def reports() -> list[dict[str, Any]]:
        page = api.get("/v1/events", params={"message_id": message_id}).json()["items"]
        done = len(page) == 3 and all(e["status"] == "processed" for e in page)
        return page if done else []

    page = wait_for(reports, timeout=30)
    assert [(e["state"], e["outcome"], e["message_id"]) for e in page] == [
        ("sent", "applied", message_id),
        ("delivered", "applied", message_id),
        ("read", "applied", message_id),
    ]
    assert stack.events is not None
    published = [e for e in stack.events.published(wait_seconds=3) if e["detail"]["message_id"] == message_id]
    assert [e["detail-type"] for e in published] == [
        "biway.message.sent",
        "biway.message.delivered",
        "biway.message.read",
    ]


def test_the_demo_scenario_plays_through(stack: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    from local import demo

    demo.run(stack)

    shown = capsys.readouterr().out
    assert "smartregion.user.connected" in shown
    assert "biway.message.read" in shown
    assert "message status         read" in shown
    assert stack.callback_tokens["smartregion"] not in shown  # tokens are never printed
