"""Imbee external users through POST /v1/registrations, and their sealed credentials (Given/When/Then).

The Imbee fake is the simulator's socket-free logic (local/simulators/imbee.py).
"""

from __future__ import annotations

import json

import boto3
import httpx
import pytest

from chatbridge.errors import ConfigurationError, NotFoundError
from chatbridge.integrations.imbee.credentials import imbee_user_credentials
from local.simulators.imbee import ImbeeSimulator
from tests.simulated import SimulatorFake
from tests.support import FakeLambdaContext, body_of
from tests.support import get_registration as get
from tests.support import post_registration as post
from tests.unit.conftest import registration_items, table_items

USER = {
    "provider": "imbee",
    "unique_id_sha": "user_identifier_sha",
    "platform": "platformValue",
    "device_name": "deviceNameValue",
    "hardware_id": "hardwareIdValue",
    "os_version": "osVersionValue",
}


def simulator_of(fake: SimulatorFake) -> ImbeeSimulator:
    assert isinstance(fake.simulator, ImbeeSimulator)
    return fake.simulator


def credential_values(fake: SimulatorFake, unique_id: str = "user_identifier_sha") -> list[str]:
    user = simulator_of(fake).user(unique_id)
    assert user is not None
    return [user.password, user.apikey]


def test_new_user_is_created_with_exactly_the_documented_request(imbee: SimulatorFake, context) -> None:
    response = post(USER, context)

    assert response["statusCode"] == 201, response["body"]
    (request,) = imbee.requests
    assert str(request.url) == "https://imbee.test/third_parties/user/new"
    assert request.headers["authorization"] == "imbee-test-auth"
    assert request.headers["x-woos-key"] == "imbee-test-corporate-token"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "uniqueIdSha": "user_identifier_sha",
        "platform": "platformValue",
        "deviceName": "deviceNameValue",
        "hardwareId": "hardwareIdValue",
        "osVersion": "osVersionValue",
    }
    created = body_of(response)
    virtual_user = simulator_of(imbee).users["user_identifier_sha"].virtual_user
    assert created["provider"] == "imbee"
    assert created["status"] == "registered"
    assert created["user_id"] == "user_identifier_sha"
    assert created["provider_ref"] == virtual_user
    assert created["details"]["virtual_user"] == virtual_user
    assert created["details"]["previously_registered"] is False
    assert len(registration_items()) == 1


def test_only_the_unique_id_is_required(imbee, context) -> None:
    response = post({"provider": "imbee", "unique_id_sha": "only-the-id"}, context)

    assert response["statusCode"] == 201
    assert json.loads(imbee.requests[0].content) == {"uniqueIdSha": "only-the-id"}


def test_a_previously_registered_user_is_a_200_on_the_same_resource(imbee, context) -> None:
    first = body_of(post(USER, context))

    again = post(USER, context)

    assert again["statusCode"] == 200
    updated = body_of(again)
    assert updated["id"] == first["id"]
    assert updated["created_at"] == first["created_at"]
    assert updated["details"]["previously_registered"] is True
    assert len(registration_items()) == 1


def test_pass_and_apikey_are_never_returned_logged_or_stored_in_clear(imbee, context, capsys) -> None:
    created = body_of(post(USER, context))
    responses = [
        post(USER, context),
        get(f"/v1/registrations/{created['id']}", context),
        get("/v1/registrations", context, query={"provider": "imbee", "user_id": "user_identifier_sha"}),
    ]

    logged = capsys.readouterr()
    stored = json.dumps(table_items())
    for secret in credential_values(imbee):
        assert all(secret not in r["body"] for r in responses)
        assert secret not in logged.out + logged.err
        assert secret not in stored


def test_the_credentials_are_sealed_with_kms_in_an_item_of_their_own(imbee, context) -> None:
    created = body_of(post(USER, context))

    item = boto3.client("dynamodb").get_item(
        TableName="chatbridge-test", Key={"pk": {"S": f"REGCRED#{created['id']}"}, "sk": {"S": "REGCRED"}}
    )["Item"]

    assert item["provider"] == {"S": "imbee"}
    assert item["key_id"]["S"].startswith("arn:aws:kms:")
    assert "pass" not in item and "apikey" not in item


def test_the_users_apikey_is_available_to_open_chats_on_their_behalf(imbee, context) -> None:
    created = body_of(post(USER, context))

    credentials = imbee_user_credentials(created["id"])

    user = simulator_of(imbee).users["user_identifier_sha"]
    assert credentials.virtual_user == user.virtual_user
    assert credentials.apikey.get_secret_value() == user.apikey
    assert user.apikey not in repr(credentials)


def test_re_registration_keeps_the_credentials_imbee_answers(imbee, context) -> None:
    created = body_of(post(USER, context))
    user = simulator_of(imbee).users["user_identifier_sha"]
    user.apikey = "rotated-apikey"

    post(USER, context)

    assert imbee_user_credentials(created["id"]).apikey.get_secret_value() == "rotated-apikey"


def test_credentials_of_an_unknown_or_non_imbee_registration_are_not_found(imbee, smartregion, context) -> None:
    other = body_of(post({"provider": "smartregion", "user_id": "u1", "payload": "p"}, context))

    for registration_id in ("no-such-id", other["id"]):
        with pytest.raises(NotFoundError):
            imbee_user_credentials(registration_id)


def test_sealed_credentials_copied_to_another_registration_do_not_open(imbee, context) -> None:
    first = body_of(post(USER, context))
    second = body_of(post({**USER, "unique_id_sha": "second-user"}, context))
    dynamodb = boto3.client("dynamodb")
    sealed = dynamodb.get_item(
        TableName="chatbridge-test", Key={"pk": {"S": f"REGCRED#{first['id']}"}, "sk": {"S": "REGCRED"}}
    )["Item"]
    dynamodb.put_item(
        TableName="chatbridge-test",
        Item={**sealed, "pk": {"S": f"REGCRED#{second['id']}"}, "registration_id": {"S": second["id"]}},
    )

    with pytest.raises(ConfigurationError):
        imbee_user_credentials(second["id"])


def test_code_1_is_a_422_with_the_providers_code_and_nothing_is_stored(imbee, context) -> None:
    simulator_of(imbee).answer_next(1, "User blocked")

    response = post(USER, context)

    assert response["statusCode"] == 422
    problem = body_of(response)
    assert problem["title"] == "Imbee rejected the request"
    assert problem["provider"] == "imbee"
    assert problem["provider_code"] == "1"
    assert "User blocked" in problem["detail"]
    assert table_items() == []


def test_refused_credentials_are_a_502_without_the_secrets(imbee, context) -> None:
    boto3.client("secretsmanager").create_secret(
        Name="chatbridge/imbee/rotated",
        SecretString=json.dumps({"auth": "old-auth", "corporate_token": "old-corp", "base_url": "https://imbee.test"}),
    )

    response = post({**USER, "connection": "rotated"}, context)

    assert response["statusCode"] == 502
    assert body_of(response)["title"] == "Imbee refused our credentials"
    assert "old-auth" not in response["body"] and "old-corp" not in response["body"]
    assert table_items() == []


def test_a_code_0_without_the_promised_fields_is_a_502(imbee, context) -> None:
    simulator_of(imbee).answer_next(0, "Ok", {"virtualUser": "vu-1", "pass": "leaky-pass"})

    response = post(USER, context)

    assert response["statusCode"] == 502
    assert body_of(response)["title"] == "Unexpected answer from Imbee"
    assert "leaky-pass" not in response["body"]
    assert table_items() == []


def test_user_creation_is_retried_on_5xx_because_imbee_dedupes_it(imbee, context) -> None:
    imbee.script = [503, httpx.ReadTimeout("slow")]

    response = post(USER, context)

    assert response["statusCode"] == 201
    assert len(imbee.requests) == 3


def test_imbee_down_is_a_502_after_three_attempts(imbee, context) -> None:
    imbee.script = [502, 502, 502]

    response = post(USER, context)

    assert response["statusCode"] == 502
    assert len(imbee.requests) == 3
    assert table_items() == []


def test_a_missing_credentials_key_is_a_configuration_error_and_nothing_is_saved(
    imbee, context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDENTIALS_KEY_ID", "alias/no-such-key")

    response = post(USER, context)

    assert response["statusCode"] == 500
    assert body_of(response)["type"].endswith("/configuration-error")
    assert table_items() == []


def test_idempotency_key_replays_without_calling_imbee_again(imbee, context) -> None:
    headers = {"idempotency-key": "user-1"}

    first = post(USER, context, headers)
    second = post(USER, FakeLambdaContext(), headers)

    assert first["statusCode"] == second["statusCode"] == 201
    assert body_of(first) == body_of(second)
    assert len(imbee.requests) == 1
