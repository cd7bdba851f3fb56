"""Smartico, Imbee and Bi-way registrations through the dev server, as a client sees them over HTTP.

The simulators, DynamoDB Local, Secrets Manager and KMS (moto) all answer over real connections.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from chatbridge.integrations.imbee.credentials import imbee_user_credentials
from local.simulators.biway import DEMO_AGENT_ID
from local.stack import LocalStack


@pytest.fixture(autouse=True)
def _fresh_simulators(stack: LocalStack) -> Iterator[None]:
    for simulator in (stack.smartico, stack.imbee, stack.biway):
        simulator.reset()
    stack.biway.state_delay = 0.05
    yield
    stack.biway.state_delay = 1.0


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def affiliate(**extra: Any) -> dict[str, Any]:
    name = unique("aff")
    return {
        "provider": "smartico",
        "first_name": "Мария",
        "last_name": "O'Brien",
        "username": name,
        "password": "Q!w2e3r4",
        "bo_user_email": f"{name}@example.com",
        "country": "BG",
        "language": "FR",
        "tc": True,
        "token": "03AGdBq261a4cR1-w32PCilF0nq04_cjKIl8T6OeWlAnC4",
        **extra,
    }


def siret() -> str:
    return str(uuid.uuid4().int)[:14].rjust(14, "1")


# -- Smartico --------------------------------------------------------------------------------


def test_smartico_affiliate_is_registered_and_read_back(api: httpx.Client, stack: LocalStack) -> None:
    body = affiliate(comments="a & b = c 🚀")

    created = api.post("/v1/registrations", json=body)

    assert created.status_code == 201, created.text
    resource = created.json()
    (sent,) = stack.smartico.calls("/api/register-aff")
    assert sent.body == {**{k: v for k, v in body.items() if k != "provider"}, "hostname": "aff-demo.smartico.local"}
    assert resource["status"] == "pending_approval"
    assert resource["provider_ref"] == str(stack.smartico.affiliates[body["username"].lower()].affiliate_id)
    assert api.get(f"/v1/registrations/{resource['id']}").json() == resource
    found = api.get("/v1/registrations", params={"provider": "smartico", "user_id": body["username"]})
    assert found.json()["items"] == [resource]
    assert "Q!w2e3r4" not in created.text


def test_smartico_duplicate_username_is_a_409(api: httpx.Client) -> None:
    body = affiliate()
    api.post("/v1/registrations", json=body)

    again = api.post("/v1/registrations", json={**body, "bo_user_email": f"x{body['bo_user_email']}"})

    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["provider_code"] == "-7"


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [({"token": "bot"}, 422, "-1"), ({"connection": "unknown-host"}, 502, "-5")],
)
def test_smartico_refusals_over_http(
    api: httpx.Client, stack: LocalStack, change: dict[str, str], status: int, code: str
) -> None:
    if change.get("connection"):
        boto3.client("secretsmanager").create_secret(
            Name=f"chatbridge/smartico/{change['connection']}",
            SecretString=json.dumps({"hostname": "aff.unknown.local", "base_url": stack.smartico.url}),
        )

    response = api.post("/v1/registrations", json=affiliate(**change))

    assert response.status_code == status
    assert response.json()["provider_code"] == code


def test_smartico_weak_password_never_reaches_smartico(api: httpx.Client, stack: LocalStack) -> None:
    response = api.post("/v1/registrations", json=affiliate(password="weakpassword"))

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "password"
    assert "weakpassword" not in response.text
    assert stack.smartico.registrations() == 0


def test_a_slow_smartico_is_a_504_and_the_registration_is_not_repeated(
    api: httpx.Client, stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVIDER_READ_TIMEOUT", "0.3")
    stack.smartico.delay_next(1.0)

    response = api.post("/v1/registrations", json=affiliate())

    assert response.status_code == 504
    assert stack.smartico.registrations() == 1


# -- Imbee -----------------------------------------------------------------------------------


def test_imbee_user_is_created_then_previously_registered(api: httpx.Client, stack: LocalStack) -> None:
    body = {"provider": "imbee", "unique_id_sha": unique("sha-"), "platform": "web", "device_name": "bot"}

    created = api.post("/v1/registrations", json=body)
    again = api.post("/v1/registrations", json=body)

    assert (created.status_code, again.status_code) == (201, 200), created.text
    assert again.json()["id"] == created.json()["id"]
    (first, _) = stack.imbee.calls("/third_parties/user/new")
    assert first.headers["authorization"] == "imbee-demo-auth"
    assert first.headers["x-woos-key"] == "imbee-demo-corporate-token"
    assert first.body == {"uniqueIdSha": body["unique_id_sha"], "platform": "web", "deviceName": "bot"}


def test_imbee_credentials_are_sealed_in_dynamodb_local_and_open_with_kms(api: httpx.Client, stack: LocalStack) -> None:
    unique_id = unique("sha-")
    created = api.post("/v1/registrations", json={"provider": "imbee", "unique_id_sha": unique_id}).json()
    user = stack.imbee.user(unique_id)
    assert user is not None

    sealed = boto3.client("dynamodb").get_item(
        TableName=stack.table_name, Key={"pk": {"S": f"REGCRED#{created['id']}"}, "sk": {"S": "REGCRED"}}
    )["Item"]
    read_back = api.get(f"/v1/registrations/{created['id']}")

    assert user.apikey not in json.dumps(sealed) and user.password not in json.dumps(sealed)
    assert user.apikey not in read_back.text and user.password not in read_back.text
    credentials = imbee_user_credentials(created["id"])
    assert credentials.apikey.get_secret_value() == user.apikey
    assert credentials.virtual_user == user.virtual_user


def test_imbee_refusal_is_a_422_with_code_1(api: httpx.Client, stack: LocalStack) -> None:
    stack.imbee.answer_next(1, "Quota exceeded")

    response = api.post("/v1/registrations", json={"provider": "imbee", "unique_id_sha": unique("sha-")})

    assert response.status_code == 422
    assert response.json()["provider_code"] == "1"
    assert "Quota exceeded" in response.json()["detail"]


# -- Bi-way ----------------------------------------------------------------------------------


def test_the_local_stack_registered_its_callback_url_with_bi_way(stack: LocalStack) -> None:
    # LocalStack ran tools/biway_callback.register on start, as an operator does after a deploy
    assert stack.biway.callback_urls["biway-demo-key"]["url"] == stack.callback_url("biway")


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "company", "name": "Boulangerie Martin"},
        {"kind": "account"},
        {"kind": "tester", "agent_id": DEMO_AGENT_ID},
    ],
    ids=["company", "account", "tester"],
)
def test_bi_way_registration_is_pending_and_its_verification_is_called_back(
    api: httpx.Client, stack: LocalStack, body: dict[str, str]
) -> None:
    natural_key = {"company": {"siret": siret()}, "account": {"email": f"{unique('a')}@example.fr"}}
    phone = {"phone": "336" + str(uuid.uuid4().int)[:8]}
    request = {"provider": "biway", **body, **natural_key.get(body["kind"], phone)}

    created = api.post("/v1/registrations", json=request)

    assert created.status_code == 201, created.text
    resource = created.json()
    assert resource["status"] == "pending_verification"
    # Bi-way's verdict is posted to the dev server's callback route, with the token in the URL
    assert stack.biway.wait_for_deliveries(timeout=10)
    deliveries = [d for d in stack.biway.deliveries if d.event.endswith("_STATE")]
    assert deliveries, "no state change was delivered"
    assert deliveries[-1].url == stack.callback_url("biway")
    event = next(e for e in stack.biway.events if e["event_id"] == deliveries[-1].event_id)
    assert event["resource_id"] == resource["provider_ref"]
    assert deliveries[-1].status == 200


def test_bi_way_verification_shows_on_the_registration(api: httpx.Client, stack: LocalStack) -> None:
    created = api.post(
        "/v1/registrations", json={"provider": "biway", "kind": "company", "name": "Cave", "siret": siret()}
    ).json()

    deadline = time.monotonic() + 15
    status = created["status"]
    while status == "pending_verification" and time.monotonic() < deadline:
        time.sleep(0.2)
        status = api.get(f"/v1/registrations/{created['id']}").json()["status"]

    assert status == "active"


def test_bi_way_duplicate_is_a_409(api: httpx.Client) -> None:
    body = {"provider": "biway", "kind": "account", "email": f"{unique('d')}@example.fr"}
    api.post("/v1/registrations", json=body)

    again = api.post("/v1/registrations", json=body)

    assert again.status_code == 409
    assert again.json()["provider"] == "biway"


def test_bi_way_5xx_on_a_creation_is_a_502_without_a_second_creation(api: httpx.Client, stack: LocalStack) -> None:
    stack.biway.fail_next(503)

    response = api.post(
        "/v1/registrations", json={"provider": "biway", "kind": "company", "name": "X", "siret": siret()}
    )

    assert response.status_code == 502
    assert len(stack.biway.calls("/client/company")) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"provider": "biway", "kind": "franchise"},
        {"provider": "biway", "kind": "tester", "agent_id": DEMO_AGENT_ID, "phone": "12"},
        {"provider": "smartico", "username": "abc"},
        {"provider": "imbee"},
    ],
)
def test_bad_input_reaches_no_provider(api: httpx.Client, stack: LocalStack, body: dict[str, str]) -> None:
    response = api.post("/v1/registrations", json=body)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [len(s.requests) for s in (stack.smartico, stack.imbee, stack.biway)] == [0, 0, 0]


def test_openapi_documents_every_registration_variant(stack: LocalStack) -> None:
    document = httpx.get(f"{stack.api_url}/v1/openapi.json").json()

    body = document["paths"]["/v1/registrations"]["post"]["requestBody"]["content"]["application/json"]
    assert set(body["examples"]) == {
        "SmartRegionRegistration",
        "SmarticoRegistration",
        "ImbeeRegistration",
        "BiwayCompanyRegistration",
        "BiwayAccountRegistration",
        "BiwayTesterRegistration",
    }
