"""API keys: issued once, stored hashed, required on every route but the public ones."""

from __future__ import annotations

import json

import pytest

import authorizer_handler
import meta_handler
import registrations_handler
from chatbridge.logic.api_keys import authenticate, hash_key, issue_api_key
from tests.support import api_event, body_of
from tests.unit.conftest import table_items


def authorizer_event(key: str | None) -> dict:
    headers = {"x-api-key": key} if key is not None else {}
    return {"version": "2.0", "type": "REQUEST", "identitySource": [key] if key else [], "headers": headers}


def test_issued_key_is_stored_only_as_its_hash(aws) -> None:
    issued = issue_api_key("ops-bot")

    (item,) = table_items()
    assert issued.key.startswith("cbk_")
    assert item["pk"]["S"] == f"APIKEY#{hash_key(issued.key)}"
    assert issued.key not in json.dumps(item)


def test_authorizer_accepts_an_issued_key(aws, context) -> None:
    issued = issue_api_key("ops-bot")

    answer = authorizer_handler.lambda_handler(authorizer_event(issued.key), context)

    assert answer == {
        "isAuthorized": True,
        "context": {"authenticated": True, "key_id": issued.key_id, "key_name": "ops-bot"},
    }


@pytest.mark.parametrize("key", [None, "", "cbk_unknown", "no-prefix", "cbk_" + "x" * 500])
def test_authorizer_marks_unknown_keys_unauthenticated(aws, context, key: str | None) -> None:
    issue_api_key("ops-bot")

    answer = authorizer_handler.lambda_handler(authorizer_event(key), context)

    assert answer["context"] == {"authenticated": False}


def test_authorizer_store_outage_fails_closed(context, monkeypatch) -> None:
    # no mock_aws and no sockets: the lookup raises
    answer = authorizer_handler.lambda_handler(authorizer_event("cbk_anything"), context)

    assert answer["context"] == {"authenticated": False}


def test_deactivated_key_is_refused(aws) -> None:
    from chatbridge.store import get_store
    from chatbridge.store.items import ApiKeyItem

    issued = issue_api_key("old")
    item = get_store().get_api_key(hash_key(issued.key))
    assert item is not None
    import boto3

    boto3.client("dynamodb").update_item(
        TableName="chatbridge-test",
        Key={"pk": {"S": f"APIKEY#{item.key_hash}"}, "sk": {"S": "APIKEY"}},
        UpdateExpression="SET active = :f",
        ExpressionAttributeValues={":f": {"BOOL": False}},
    )

    assert authenticate(issued.key) is None
    assert isinstance(item, ApiKeyItem)


@pytest.mark.parametrize(
    ("method", "path", "route"),
    [
        ("POST", "/v1/registrations", None),
        ("GET", "/v1/registrations/abc", "/v1/registrations/{id}"),
        ("GET", "/v1/registrations", None),
    ],
)
@pytest.mark.parametrize("authorizer", [None, {"authenticated": False}, {"authenticated": "true"}])
def test_guarded_routes_answer_401_problem_without_a_valid_key(
    smartregion, context, method: str, path: str, route: str | None, authorizer
) -> None:
    event = api_event(method, path, route=route, body="{}", authorizer=authorizer)

    response = registrations_handler.lambda_handler(event, context)

    assert response["statusCode"] == 401
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert body_of(response)["title"] == "Missing or invalid API key"
    assert smartregion.requests == []


@pytest.mark.parametrize("path", ["/v1/health", "/v1/openapi.json", "/v1/docs"])
def test_meta_routes_are_public(context, path: str) -> None:
    response = meta_handler.lambda_handler(api_event("GET", path, authorizer=None), context)

    assert response["statusCode"] == 200
