"""API keys: issued once, stored hashed, with scopes, limits and an expiry; the authorizer denies
unknown, revoked and expired keys itself (no backend invocation)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

import authorizer_handler
import meta_handler
import registrations_handler
from chatbridge.access import authorizer_context
from chatbridge.errors import ValidationFailedError
from chatbridge.logic.api_keys import authenticate, hash_key, issue_api_key, revoke_api_key
from tests.support import api_event, body_of
from tests.unit.conftest import table_items

# A fixed clock: no test here depends on today's date.
NOW = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)


def authorizer_event(key: str | None) -> dict:
    headers = {"x-api-key": key} if key is not None else {}
    return {"version": "2.0", "type": "REQUEST", "identitySource": [key] if key else [], "headers": headers}


def test_issued_key_is_stored_only_as_its_hash_with_name_scopes_and_expiry(aws) -> None:
    issued = issue_api_key(
        "ops-bot", scopes=["registrations:read", "messages:*"], expires_at=NOW + timedelta(days=30), now=NOW
    )

    (item,) = table_items()
    assert issued.key.startswith("cbk_")
    assert item["pk"]["S"] == f"APIKEY#{hash_key(issued.key)}"
    assert issued.key not in json.dumps(item)
    assert issued.scopes == ["registrations:read", "messages:read", "messages:write"]
    assert item["valid_until"]["S"].startswith("2031-03-31")
    # `expires_at` is the table's TTL attribute: a key item must not carry it
    assert "expires_at" not in item


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"scopes": ["everything"]}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"scopes": ["admin"], "providers": ["nosuchprovider"]}, "providers"),
        ({"scopes": ["admin"], "providers": ["biway/../x"]}, "providers"),
        ({"scopes": ["admin"], "expires_at": NOW - timedelta(seconds=1)}, "expires_at"),
        ({"scopes": ["admin"], "expires_at": datetime(2031, 6, 1)}, "expires_at"),  # naive
    ],
)
def test_invalid_scopes_limits_or_expiry_are_refused(aws, kwargs, field: str) -> None:
    with pytest.raises(ValidationFailedError) as refused:
        issue_api_key("bad", now=NOW, **kwargs)

    assert refused.value.errors[0].field == field
    assert table_items() == []


def test_authorizer_accepts_an_issued_key_with_its_scopes_in_the_context(aws, context) -> None:
    issued = issue_api_key("ops-bot", scopes=["registrations:read"], providers=["smartregion"])

    answer = authorizer_handler.lambda_handler(authorizer_event(issued.key), context)

    assert answer == {
        "isAuthorized": True,
        "context": {
            "authenticated": True,
            "key_id": issued.id,
            "key_name": "ops-bot",
            "scopes": "registrations:read",
            "providers": "smartregion",
            "expires_at": "",
        },
    }


@pytest.mark.parametrize("key", [None, "", "cbk_unknown", "no-prefix", "cbk_" + "x" * 500])
def test_authorizer_denies_unknown_keys_itself(aws, context, key: str | None) -> None:
    issue_api_key("ops-bot", scopes=["admin"])

    answer = authorizer_handler.lambda_handler(authorizer_event(key), context)

    assert answer == {"isAuthorized": False}


def test_authorizer_store_outage_raises_so_api_gateway_answers_500_uncached(context) -> None:
    # no mock_aws and no sockets: the lookup fails; a denial would be cached for a valid key
    with pytest.raises(Exception):  # noqa: B017 - whatever botocore raises without a network
        authorizer_handler.lambda_handler(authorizer_event("cbk_anything"), context)


def test_a_revoked_key_is_refused_by_the_very_next_authorizer_call(aws, context) -> None:
    issued = issue_api_key("old", scopes=["registrations:read"])
    assert authorizer_handler.lambda_handler(authorizer_event(issued.key), context)["isAuthorized"] is True

    revoked = revoke_api_key(issued.id)

    assert revoked.status == "revoked"
    # no in-function cache and a consistent read: only the gateway's cache stands between
    assert authorizer_handler.lambda_handler(authorizer_event(issued.key), context) == {"isAuthorized": False}


def test_a_key_deactivated_in_the_table_is_refused(aws) -> None:
    issued = issue_api_key("old", scopes=["registrations:read"])
    boto3.client("dynamodb").update_item(
        TableName="chatbridge-test",
        Key={"pk": {"S": f"APIKEY#{hash_key(issued.key)}"}, "sk": {"S": "APIKEY"}},
        UpdateExpression="SET active = :f",
        ExpressionAttributeValues={":f": {"BOOL": False}},
    )

    assert authenticate(issued.key) is None


def test_an_expired_key_is_refused_from_its_expiry_on(aws) -> None:
    issued = issue_api_key("temp", scopes=["registrations:read"], expires_at=NOW + timedelta(hours=1), now=NOW)

    assert authenticate(issued.key, now=NOW + timedelta(minutes=59)) is not None
    assert authenticate(issued.key, now=NOW + timedelta(hours=1)) is None


def test_a_key_stored_before_scopes_existed_is_refused(aws) -> None:
    key = "cbk_" + "legacy" * 8
    boto3.client("dynamodb").put_item(
        TableName="chatbridge-test",
        Item={
            "pk": {"S": f"APIKEY#{hash_key(key)}"},
            "sk": {"S": "APIKEY"},
            "key_hash": {"S": hash_key(key)},
            "key_id": {"S": hash_key(key)[:12]},
            "name": {"S": "legacy"},
            "created_at": {"S": "2026-01-01T00:00:00+00:00"},
            "active": {"BOOL": True},
        },
    )

    assert authenticate(key) is None


@pytest.mark.parametrize(
    ("method", "path", "route"),
    [
        ("POST", "/v1/registrations", None),
        ("GET", "/v1/registrations/abc", "/v1/registrations/{id}"),
        ("GET", "/v1/registrations", None),
    ],
)
@pytest.mark.parametrize(
    "authorizer",
    [
        None,
        {"authenticated": False},
        {"authenticated": "true"},
        # authenticated, but not by our authorizer: no scopes at all
        {"authenticated": True, "key_id": "x", "key_name": "x"},
    ],
)
def test_guarded_routes_answer_401_problem_without_a_valid_key(
    smartregion, context, method: str, path: str, route: str | None, authorizer
) -> None:
    event = api_event(method, path, route=route, body="{}", authorizer=authorizer)

    response = registrations_handler.lambda_handler(event, context)

    assert response["statusCode"] == 401
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert body_of(response)["title"] == "Missing or invalid API key"
    assert smartregion.requests == []


def test_an_authorization_cached_past_the_keys_expiry_is_refused_at_the_edge(smartregion, context, monkeypatch) -> None:
    # the gateway may replay an authorization for up to ReauthorizeEvery: the edge checks the expiry
    monkeypatch.setattr("chatbridge.access.utc_now", lambda: NOW)
    expired = authorizer_context("k", "temp", ["registrations:read"], [], NOW - timedelta(seconds=1))
    valid = authorizer_context("k", "temp", ["registrations:read"], [], NOW + timedelta(seconds=1))

    refused = registrations_handler.lambda_handler(api_event("GET", "/v1/registrations", authorizer=expired), context)
    allowed = registrations_handler.lambda_handler(
        api_event("GET", "/v1/registrations", query={"provider": "smartregion", "user_id": "u"}, authorizer=valid),
        context,
    )

    assert refused["statusCode"] == 401
    assert body_of(refused)["title"] == "API key expired"
    assert allowed["statusCode"] == 200


@pytest.mark.parametrize("path", ["/v1/health", "/v1/openapi.json", "/v1/docs"])
def test_meta_routes_are_public(context, path: str) -> None:
    response = meta_handler.lambda_handler(api_event("GET", path, authorizer=None), context)

    assert response["statusCode"] == 200
