"""SmartRegion registration through the dev server, as a client sees it over HTTP."""

from __future__ import annotations

import json
import time
import uuid

import boto3
import httpx
import pytest

import registrations_handler
from local.stack import LocalStack
from local.template import table_definition
from tests.support import FakeLambdaContext, api_event, body_of


def registration(user_id: str | None = None, **extra: object) -> dict[str, object]:
    return {
        "provider": "smartregion",
        "user_id": user_id or f"tg-{uuid.uuid4().hex[:10]}",
        "payload": "PAYLOAD123",
        "user_field": {"name": "Иван", "emoji": "🚀", "note": "a & b = c"},
        **extra,
    }


def registration_calls(stack: LocalStack) -> int:
    return sum(1 for r in stack.simulator.requests if r.path == "/registration")


def test_table_was_created_from_the_template(stack: LocalStack) -> None:
    described = boto3.client("dynamodb").describe_table(TableName=stack.table_name)["Table"]
    expected = table_definition(stack.table_name)
    assert described["KeySchema"] == expected["KeySchema"]
    assert [i["IndexName"] for i in described["GlobalSecondaryIndexes"]] == ["gsi1", "gsi2", "gsi3"]
    assert described["StreamSpecification"]["StreamViewType"] == "NEW_IMAGE"


def test_health_is_public(stack: LocalStack) -> None:
    response = httpx.get(f"{stack.api_url}/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_register_then_read_back_by_id_and_by_user(api: httpx.Client, stack: LocalStack) -> None:
    body = registration()

    created = api.post("/v1/registrations", json=body)

    assert created.status_code == 201, created.text
    resource = created.json()
    assert created.headers["location"] == f"/v1/registrations/{resource['id']}"
    (sent,) = [r for r in stack.simulator.requests if r.path == "/registration"]
    assert sent.headers["x-api-key"] == "sr-demo-key"
    assert sent.headers["accept"] == "application/json"
    assert sent.body == {
        "channel_id": "demo-channel",
        "project_id": "demo-project",
        "payload": "PAYLOAD123",
        "user_field": body["user_field"],
        "user_id": body["user_id"],
    }
    assert api.get(f"/v1/registrations/{resource['id']}").json() == resource
    found = api.get("/v1/registrations", params={"provider": "smartregion", "user_id": body["user_id"]})
    assert found.json()["items"] == [resource]


def test_registering_again_is_a_200_on_the_same_resource(api: httpx.Client) -> None:
    body = registration()
    first = api.post("/v1/registrations", json=body).json()

    again = api.post("/v1/registrations", json={**body, "user_field": {"name": "Ivan"}})

    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["created_at"] == first["created_at"]
    assert again.json()["details"]["user_field"] == {"name": "Ivan"}


def test_idempotency_key_replays_without_calling_smartregion_again(api: httpx.Client, stack: LocalStack) -> None:
    body = registration()
    headers = {"Idempotency-Key": str(uuid.uuid4())}

    first = api.post("/v1/registrations", json=body, headers=headers)
    second = api.post("/v1/registrations", json=body, headers=headers)

    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert registration_calls(stack) == 1


def test_unknown_channel_is_a_422_with_the_providers_code(api: httpx.Client) -> None:
    response = api.post("/v1/registrations", json=registration(channel_id="no-such-channel"))

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["provider_code"] == "404"


def test_refused_credentials_are_a_502(api: httpx.Client, stack: LocalStack) -> None:
    connection = f"rotated-{uuid.uuid4().hex[:6]}"
    secret = {"api_key": "old-key", "project_id": "demo-project", "channel_id": "demo-channel"}
    boto3.client("secretsmanager").create_secret(
        Name=f"chatbridge/smartregion/{connection}",
        SecretString=json.dumps({**secret, "base_url": stack.simulator.url}),
    )

    response = api.post("/v1/registrations", json=registration(connection=connection))

    assert response.status_code == 502
    assert response.json()["title"] == "SmartRegion refused our credentials"
    assert "old-key" not in response.text


def test_a_transient_503_is_retried(api: httpx.Client, stack: LocalStack) -> None:
    stack.simulator.fail_next(503)

    response = api.post("/v1/registrations", json=registration())

    assert response.status_code == 201
    assert registration_calls(stack) == 2


def test_smartregion_down_is_a_502_after_three_attempts(api: httpx.Client, stack: LocalStack) -> None:
    stack.simulator.fail_next(503, times=3)

    response = api.post("/v1/registrations", json=registration())

    assert response.status_code == 502
    assert registration_calls(stack) == 3


def test_slow_smartregion_is_a_504(api: httpx.Client, stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVIDER_READ_TIMEOUT", "0.3")
    stack.simulator.delay_next(1.0, times=3)
    started = time.monotonic()

    response = api.post("/v1/registrations", json=registration())

    assert response.status_code == 504
    assert response.json()["type"].endswith("/provider-timeout")
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b'{"provider": "smartregion", ', 400),
        (b'{"provider": "pigeon", "user_id": "u", "payload": "p"}', 422),
        (b'{"provider": "smartregion", "user_id": 1, "payload": "p"}', 422),
        (b'{"provider": "smartregion", "payload": "p"}', 422),
        (b'{"provider": "smartregion", "user_id": "u", "payload": "p", "connection": "nope"}', 422),
        (json.dumps({"provider": "smartregion", "user_id": "u", "payload": "x" * 300_000}).encode(), 413),
    ],
)
def test_bad_input_is_a_4xx_problem_and_reaches_no_one(
    api: httpx.Client, stack: LocalStack, content: bytes, status: int
) -> None:
    response = api.post("/v1/registrations", content=content, headers={"content-type": "application/json"})

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert registration_calls(stack) == 0
    found = api.get("/v1/registrations", params={"provider": "smartregion", "user_id": "u"})
    assert found.json()["items"] == []


@pytest.mark.parametrize(
    ("headers", "status"),
    # no key: API Gateway's 401; an unknown key: the authorizer denies it, API Gateway's 403
    [({}, 401), ({"x-api-key": "cbk_not-a-key"}, 403), ({"x-api-key": "garbage"}, 403)],
)
def test_guarded_routes_need_a_valid_key(stack: LocalStack, headers: dict[str, str], status: int) -> None:
    response = httpx.post(f"{stack.api_url}/v1/registrations", json=registration(), headers=headers)

    assert response.status_code == status
    assert registration_calls(stack) == 0


def test_openapi_and_docs_are_served(stack: LocalStack) -> None:
    document = httpx.get(f"{stack.api_url}/v1/openapi.json").json()
    assert "/v1/registrations" in document["paths"]
    assert httpx.get(f"{stack.api_url}/v1/docs").headers["content-type"].startswith("text/html")


def test_handler_invoked_directly_against_dynamodb_local(stack: LocalStack) -> None:
    body = registration()

    response = registrations_handler.lambda_handler(
        api_event("POST", "/v1/registrations", body=body), FakeLambdaContext()
    )

    assert response["statusCode"] == 201
    stored = boto3.client("dynamodb").get_item(
        TableName=stack.table_name, Key={"pk": {"S": f"REG#{body_of(response)['id']}"}, "sk": {"S": "REG"}}
    )
    assert stored["Item"]["user_id"] == {"S": body["user_id"]}
