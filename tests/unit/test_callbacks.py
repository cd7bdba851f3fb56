"""POST /v1/callbacks/{provider}/{token}: authenticate, dedupe, store, answer 200 at once."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

import callbacks_handler
from chatbridge.integrations import registry
from chatbridge.logic.callbacks import authenticate, receive_callback
from chatbridge.store.base import get_event_store
from tests.support import api_event, body_of
from tests.unit.conftest import CALLBACK_TOKENS, table_items

ROUTE = "/v1/callbacks/{provider}/{token}"
SMARTREGION_CONNECTION = {
    "event": "connection",
    "user_id": "tg-100500",
    "channel_id": "chan-1",
    "project_id": "proj-1",
    "time": "2026-11-27T10:00:00Z",
}
BIWAY_READ = {
    "event_id": "5b0e7a52-1f4c-4a8e-9d7e-3c2b1a0f9e8d",
    "event": "MESSENGER_REPORT",
    "resource_id": "msg-8841",
    "state": "read",
    "occurred_at": "2026-11-27T10:00:05Z",
    "recipient": "+33670000000",
    "data": {},
}


def post_callback(
    context: Any,
    body: str | bytes | dict[str, Any] | None,
    provider: str = "smartregion",
    token: str | None = None,
    **event_overrides: Any,
) -> dict[str, Any]:
    token = CALLBACK_TOKENS.get(provider, "none") if token is None else token
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    event = api_event("POST", f"/v1/callbacks/{provider}/{token}", route=ROUTE, body=text, authorizer=None)
    event["headers"].pop("x-api-key")
    event.update(event_overrides)
    response: dict[str, Any] = callbacks_handler.lambda_handler(event, context)
    return response


def event_items() -> list[dict[str, Any]]:
    return [i for i in table_items() if i["pk"]["S"].startswith("EVENT#")]


def test_a_smartregion_presence_event_is_stored_with_what_it_says(aws, context) -> None:
    response = post_callback(context, SMARTREGION_CONNECTION)

    assert response["statusCode"] == 200, response["body"]
    receipt = body_of(response)
    assert receipt["duplicate"] is False
    assert receipt["recognised"] is True
    (item,) = event_items()
    assert item["id"]["S"] == receipt["id"]
    assert item["entity"]["S"] == "event"  # what the stream filter selects
    assert "status" not in item  # defaults are left out of the put: `received` until processed
    assert json.loads(item["raw"]["S"]) == SMARTREGION_CONNECTION
    assert item["recognised"]["BOOL"] is True
    assert item["subject_ref"]["S"] == "tg-100500"
    assert item["occurred_at"]["S"] == "2026-11-27T10:00:00Z"
    # listed under the user at once, ordered by the provider's time
    assert item["gsi1pk"]["S"] == "EVSUBJECT#smartregion#tg-100500"
    assert item["gsi1sk"]["S"] == f"2026-11-27T10:00:00.000000Z#{receipt['id']}"
    # normalising (type, state, detail-type) is the processor's work, not the waiting provider's
    assert {"state", "detail_type", "outcome"}.isdisjoint(item)
    assert item["dedupe_key"]["S"].startswith("sha256:")
    expires = datetime.fromtimestamp(int(item["expires_at"]["N"]), UTC)
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)


def test_the_same_delivery_twice_is_stored_once_and_answered_the_same(aws, context) -> None:
    first = post_callback(context, SMARTREGION_CONNECTION)
    second = post_callback(context, SMARTREGION_CONNECTION)

    assert first["statusCode"] == second["statusCode"] == 200
    assert body_of(second) == {**body_of(first), "duplicate": True}
    assert len(event_items()) == 1


def test_ten_deliveries_of_one_event_store_one_item(aws, context) -> None:
    receipts = [body_of(post_callback(context, BIWAY_READ, provider="biway")) for _ in range(10)]

    assert [r["duplicate"] for r in receipts] == [False] + [True] * 9
    assert len({r["id"] for r in receipts}) == 1
    assert len(event_items()) == 1


def test_the_providers_event_id_dedupes_even_when_the_bytes_differ(aws, context) -> None:
    first = post_callback(context, BIWAY_READ, provider="biway")
    # a redelivery re-serialised with another key order and spacing
    again = json.dumps(dict(reversed(list(BIWAY_READ.items()))), indent=2)

    second = post_callback(context, again, provider="biway")

    assert body_of(second)["duplicate"] is True
    assert body_of(second)["id"] == body_of(first)["id"]
    (item,) = event_items()
    assert item["dedupe_key"]["S"] == f"event_id:{BIWAY_READ['event_id']}"


def test_without_an_event_id_two_different_bodies_are_two_events(aws, context) -> None:
    post_callback(context, SMARTREGION_CONNECTION)
    post_callback(context, {**SMARTREGION_CONNECTION, "event": "disconnection", "time": "2026-11-27T11:00:00Z"})

    assert len(event_items()) == 2


def test_a_lost_race_on_the_conditional_put_is_a_duplicate_not_an_error(aws) -> None:
    store = get_event_store()
    body = json.dumps(BIWAY_READ).encode()
    receive_callback("biway", CALLBACK_TOKENS["biway"], body, store=store, tokens=_tokens())

    # the other delivery won between our check and our write: only the condition can tell
    again = receive_callback("biway", CALLBACK_TOKENS["biway"], body, store=store, tokens=_tokens())

    assert again.duplicate is True


@pytest.mark.parametrize(
    ("provider", "body"),
    [
        ("biway", {**BIWAY_READ, "event": "INVOICE_READY"}),
        ("biway", {"hello": "world"}),
        ("biway", {**BIWAY_READ, "state": {"nested": "object"}}),
        ("smartregion", {**SMARTREGION_CONNECTION, "event": "teleportation"}),
        ("smartregion", {"event": "connection"}),  # no user: nothing to apply it to
        ("smartregion", {}),
    ],
)
def test_unknown_types_and_shapes_are_stored_and_flagged_never_refused(
    aws, context, provider: str, body: dict[str, Any]
) -> None:
    response = post_callback(context, body, provider=provider)

    assert response["statusCode"] == 200, response["body"]
    assert body_of(response)["recognised"] is False
    (item,) = event_items()
    assert item["recognised"]["BOOL"] is False
    assert json.loads(item["raw"]["S"]) == body


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ('{"event": "connection", ', 400),
        ("not json", 400),
        ("", 400),
        (None, 400),
        (b"\xff\xfe\x00garbage".decode("latin-1"), 400),
        ("[]", 422),
        ('"connection"', 422),
        ("42", 422),
        ("null", 422),
    ],
)
def test_malformed_bodies_are_refused_and_nothing_is_stored(aws, context, body: str | None, status: int) -> None:
    response = post_callback(context, body)

    assert response["statusCode"] == status, response["body"]
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert body_of(response)["status"] == status
    assert event_items() == []


def test_a_body_that_is_not_utf8_is_a_400(aws, context) -> None:
    raw = '{"event": "connection", "user_id": "é"}'.encode("latin-1")
    encoded = base64.b64encode(raw).decode()

    response = post_callback(context, encoded, isBase64Encoded=True)

    assert response["statusCode"] == 400
    assert event_items() == []


def test_a_base64_encoded_body_is_decoded(aws, context) -> None:
    encoded = base64.b64encode(json.dumps(SMARTREGION_CONNECTION).encode()).decode()

    response = post_callback(context, encoded, isBase64Encoded=True)

    assert response["statusCode"] == 200
    (item,) = event_items()
    assert json.loads(item["raw"]["S"]) == SMARTREGION_CONNECTION


def test_a_body_over_256_kib_is_a_413_and_nothing_is_stored(aws, context) -> None:
    response = post_callback(context, {**SMARTREGION_CONNECTION, "padding": "x" * 300_000})

    assert response["statusCode"] == 413
    assert event_items() == []


@pytest.mark.parametrize(
    ("provider", "token"),
    [
        ("smartregion", "wrong"),
        ("smartregion", CALLBACK_TOKENS["biway"]),  # another provider's token
        ("smartregion", CALLBACK_TOKENS["smartregion"].upper()),
        ("smartregion", CALLBACK_TOKENS["smartregion"] + "x"),
        ("smartregion", CALLBACK_TOKENS["smartregion"][:-1]),
        ("smartregion", " "),
    ],
)
def test_a_wrong_token_is_a_401_and_nothing_is_stored(aws, context, provider: str, token: str) -> None:
    response = post_callback(context, SMARTREGION_CONNECTION, provider=provider, token=token)

    assert response["statusCode"] == 401, response["body"]
    assert body_of(response)["title"] == "Invalid callback token"
    assert event_items() == []


@pytest.mark.parametrize(
    ("provider", "token"),
    [
        ("nope", "anything"),
        ("watbot", "anything"),  # a provider, but it sends no webhooks
        ("Smartregion", CALLBACK_TOKENS["smartregion"]),  # provider names are case-sensitive
        ("nope", CALLBACK_TOKENS["smartregion"]),  # a valid token changes nothing
    ],
)
def test_an_unknown_provider_is_a_404_naming_the_providers_and_nothing_is_stored(
    aws, context, provider: str, token: str
) -> None:
    response = post_callback(context, SMARTREGION_CONNECTION, provider=provider, token=token)

    assert response["statusCode"] == 404, response["body"]
    assert response["headers"]["Content-Type"] == "application/problem+json"
    problem = body_of(response)
    assert problem["title"] == "Unknown callback provider"
    assert all(name in problem["detail"] for name in registry.callback_providers())
    assert "token" not in problem["detail"].lower() and token not in response["body"]
    assert event_items() == []


def test_the_token_is_checked_before_the_body_is_read(aws, context) -> None:
    response = post_callback(context, "{not json", token="wrong")

    assert response["statusCode"] == 401


def test_a_callback_needs_no_api_key_but_the_events_route_does(aws, context) -> None:
    assert post_callback(context, SMARTREGION_CONNECTION)["statusCode"] == 200

    listing = api_event("GET", "/v1/events", query={"registration_id": "x"}, authorizer={"authenticated": False})
    assert callbacks_handler.lambda_handler(listing, context)["statusCode"] == 401


def test_an_empty_token_in_the_secret_matches_nothing(aws, context) -> None:
    boto3.client("secretsmanager").put_secret_value(
        SecretId="chatbridge/callbacks", SecretString=json.dumps({"smartregion": "", "biway": "b"})
    )

    response = post_callback(context, SMARTREGION_CONNECTION, token="")
    direct = post_callback(context, SMARTREGION_CONNECTION, token="%20")

    assert response["statusCode"] in (401, 404)  # an empty path segment matches no route at all
    assert direct["statusCode"] == 401
    assert event_items() == []


def test_without_the_tokens_secret_nothing_is_accepted(aws, context) -> None:
    boto3.client("secretsmanager").delete_secret(SecretId="chatbridge/callbacks", ForceDeleteWithoutRecovery=True)

    response = post_callback(context, SMARTREGION_CONNECTION)

    # our misconfiguration, not the provider's: a 5xx makes the provider deliver again later
    assert response["statusCode"] == 500
    assert event_items() == []


def test_tokens_and_bodies_are_never_logged_or_returned(aws, context, caplog, capsys) -> None:
    caplog.set_level(logging.INFO)  # the level functions run at (botocore's DEBUG would print everything)
    secret_body = {**SMARTREGION_CONNECTION, "user_field": "private-value-7781"}

    ok = post_callback(context, secret_body)
    refused = post_callback(context, secret_body, token=CALLBACK_TOKENS["smartregion"] + "-wrong")

    output = capsys.readouterr().out + capsys.readouterr().err + caplog.text
    for response in (ok, refused):
        assert CALLBACK_TOKENS["smartregion"] not in response["body"]
    assert CALLBACK_TOKENS["smartregion"] not in output
    assert "private-value-7781" not in output


def test_token_comparison_refuses_a_missing_provider_token_in_constant_time() -> None:
    from pydantic import SecretStr

    from chatbridge.errors import UnauthorizedError

    with pytest.raises(UnauthorizedError):
        authenticate("biway", "", {"smartregion": SecretStr("s")})
    authenticate("biway", "b-token", {"biway": SecretStr("b-token")})


def _tokens() -> dict[str, Any]:
    from pydantic import SecretStr

    return {provider: SecretStr(token) for provider, token in CALLBACK_TOKENS.items()}
