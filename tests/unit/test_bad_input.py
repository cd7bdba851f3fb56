"""Bad input never reaches the provider, never stores anything, and is always a 4xx problem."""

from __future__ import annotations

import base64
import json

import pytest

import registrations_handler
from tests.support import api_event, body_of
from tests.unit.conftest import registration_items, table_items

VALID = {"provider": "smartregion", "user_id": "tg-1", "payload": "P"}


def post_raw(body: str | None, context, **event_overrides):  # type: ignore[no-untyped-def]
    event = api_event("POST", "/v1/registrations", body=body)
    event.update(event_overrides)
    return registrations_handler.lambda_handler(event, context)


@pytest.mark.parametrize(
    ("body", "status", "fields"),
    [
        ('{"provider": "smartregion", ', 400, None),
        ("not json at all", 400, None),
        ("", 422, {"body"}),
        (None, 422, {"body"}),
        ("[]", 422, {"body"}),
        ('"a string"', 422, {"body"}),
        (json.dumps({"user_id": "u", "payload": "p"}), 422, {"provider"}),
        (json.dumps({**VALID, "provider": "carrier-pigeon"}), 422, {"provider"}),
        (json.dumps({**VALID, "user_id": 42}), 422, {"user_id"}),
        (json.dumps({**VALID, "user_id": ""}), 422, {"user_id"}),
        (json.dumps({**VALID, "user_id": "   "}), 422, {"user_id"}),
        (json.dumps({**VALID, "user_id": "x" * 257}), 422, {"user_id"}),
        (json.dumps({"provider": "smartregion", "payload": "p"}), 422, {"user_id"}),
        (json.dumps({"provider": "smartregion", "user_id": "u"}), 422, {"payload"}),
        (json.dumps({**VALID, "user_field": "not an object"}), 422, {"user_field"}),
        (json.dumps({**VALID, "user_field": {"nested": {"deep": 1}}}), 422, None),
        (json.dumps({**VALID, "connection": "../../etc"}), 422, {"connection"}),
        (json.dumps({**VALID, "surprise": True}), 422, {"surprise"}),
        (json.dumps({**VALID, "channel_id": 7}), 422, {"channel_id"}),
    ],
)
def test_invalid_bodies_are_4xx_problems_and_nothing_is_stored_or_sent(
    smartregion, context, body: str | None, status: int, fields: set[str] | None
) -> None:
    response = post_raw(body, context)

    assert response["statusCode"] == status, response["body"]
    assert response["headers"]["Content-Type"] == "application/problem+json"
    problem = body_of(response)
    assert problem["status"] == status
    assert {"type", "title", "status", "detail"} <= set(problem)
    if fields is not None:
        assert {e["field"] for e in problem["errors"]} == fields
    assert smartregion.requests == []
    assert registration_items() == []


def test_validation_errors_do_not_echo_the_input(smartregion, context) -> None:
    response = post_raw(json.dumps({**VALID, "user_id": 12345678, "payload": ["secret-ish-value"]}), context)

    assert response["statusCode"] == 422
    assert "secret-ish-value" not in response["body"]
    assert "12345678" not in response["body"]


def test_huge_body_is_a_413_before_any_parsing(smartregion, context) -> None:
    huge = json.dumps({**VALID, "payload": "x" * (300 * 1024)})

    response = post_raw(huge, context)

    assert response["statusCode"] == 413
    assert body_of(response)["type"].endswith("/payload-too-large")
    assert smartregion.requests == []
    assert registration_items() == []


def test_huge_base64_body_is_measured_decoded(smartregion, context) -> None:
    huge = base64.b64encode(json.dumps({**VALID, "payload": "y" * (300 * 1024)}).encode()).decode()

    response = post_raw(huge, context, isBase64Encoded=True)

    assert response["statusCode"] == 413


def test_base64_encoded_valid_body_is_accepted(smartregion, context) -> None:
    encoded = base64.b64encode(json.dumps(VALID).encode()).decode()

    response = post_raw(encoded, context, isBase64Encoded=True)

    assert response["statusCode"] == 201


def test_payload_longer_than_the_field_limit_is_a_422(smartregion, context) -> None:
    response = post_raw(json.dumps({**VALID, "payload": "x" * 2049}), context)

    assert response["statusCode"] == 422
    assert body_of(response)["errors"][0]["field"] == "payload"


def test_unknown_connection_is_a_422_naming_the_secret(smartregion, context) -> None:
    response = post_raw(json.dumps({**VALID, "connection": "staging"}), context)

    assert response["statusCode"] == 422
    problem = body_of(response)
    assert problem["type"].endswith("/unknown-connection")
    assert problem["errors"] == [
        {"field": "connection", "message": "create the secret chatbridge/smartregion/staging first"}
    ]
    assert smartregion.requests == []
    assert registration_items() == []


def test_incomplete_connection_secret_is_reported_without_its_values(smartregion, context) -> None:
    import boto3

    boto3.client("secretsmanager").create_secret(
        Name="chatbridge/smartregion/broken", SecretString=json.dumps({"api_key": "very-secret-value"})
    )

    response = post_raw(json.dumps({**VALID, "connection": "broken"}), context)

    assert response["statusCode"] == 500
    problem = body_of(response)
    assert problem["type"].endswith("/configuration-error")
    assert "project_id" in problem["detail"]
    assert "very-secret-value" not in response["body"]


def test_unknown_route_is_a_404_problem(smartregion, context) -> None:
    response = registrations_handler.lambda_handler(api_event("DELETE", "/v1/registrations"), context)

    assert response["statusCode"] == 404
    assert response["headers"]["Content-Type"] == "application/problem+json"


def test_refused_request_stores_no_idempotency_record(smartregion, context) -> None:
    post_raw("{broken", context, headers={"content-type": "application/json", "idempotency-key": "k-1"})

    assert table_items() == []
