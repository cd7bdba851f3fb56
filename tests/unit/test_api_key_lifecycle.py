"""The API key lifecycle through the admin routes (scope `admin`) and the command line
(`make api-key`, `make api-keys`, `make api-key-revoke`): create shows the key once, list never does,
revoke makes the authorizer refuse it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import admin_handler
import authorizer_handler
import meta_handler
from chatbridge.access import ROUTE_SCOPES, authorizer_context
from chatbridge.logic.api_keys import hash_key, issue_api_key
from local import api_key as cli
from tests.support import api_event, body_of
from tests.unit.conftest import table_items

NOW = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)
ADMIN = authorizer_context("adm000000001", "ops", ["admin"], [], None)


def admin(method: str, path: str, context: Any, *, route: str | None = None, **kwargs: Any) -> dict[str, Any]:
    event = api_event(method, path, route=route, authorizer=kwargs.pop("authorizer", ADMIN), **kwargs)
    response: dict[str, Any] = admin_handler.lambda_handler(event, context)
    return response


def authorizes(key: str, context: Any) -> bool:
    answer = authorizer_handler.lambda_handler({"headers": {"x-api-key": key}}, context)
    return bool(answer["isAuthorized"])


def test_an_admin_creates_lists_reads_and_revokes_a_key(aws, context) -> None:
    created = admin(
        "POST",
        "/v1/api-keys",
        context,
        body={"name": "presence-bot", "scopes": ["registrations:read", "events:*"], "providers": ["smartregion"]},
    )
    issued = body_of(created)
    key = issued.pop("key")

    listed = body_of(admin("GET", "/v1/api-keys", context))
    read = admin("GET", f"/v1/api-keys/{issued['id']}", context, route="/v1/api-keys/{id}")
    assert authorizes(key, context)
    revoked = admin("DELETE", f"/v1/api-keys/{issued['id']}", context, route="/v1/api-keys/{id}")
    again = admin("DELETE", f"/v1/api-keys/{issued['id']}", context, route="/v1/api-keys/{id}")

    assert created["statusCode"] == 201
    assert created["headers"]["Cache-Control"] == "no-store"
    assert issued["scopes"] == ["registrations:read", "events:read"]
    assert issued["created_by"] == "adm000000001"
    assert listed["items"] == [issued]
    assert key not in json.dumps(listed) and hash_key(key) not in json.dumps(listed)
    assert body_of(read) == issued
    assert key not in read["body"]
    assert revoked["statusCode"] == 200 and body_of(revoked)["status"] == "revoked"
    assert body_of(again)["revoked_at"] == body_of(revoked)["revoked_at"]
    assert not authorizes(key, context)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "scopes": ["everything"]},
        {"name": "x", "scopes": []},
        {"name": "", "scopes": ["admin"]},
        {"name": "x", "scopes": ["admin"], "providers": ["nobody"]},
        {"name": "x", "scopes": ["admin"], "expires_at": "2020-01-01T00:00:00Z"},
        {"name": "x", "scopes": ["admin"], "expires_at": "2099-01-01T00:00:00"},  # no offset
        {"name": "x", "scopes": ["admin"], "key": "cbk_chosen-by-the-client"},
    ],
)
def test_invalid_creations_are_422_and_store_nothing(aws, context, body: dict[str, Any]) -> None:
    response = admin("POST", "/v1/api-keys", context, body=body)

    assert response["statusCode"] == 422, response["body"]
    assert table_items() == []


def test_unknown_ids_are_404(aws, context) -> None:
    for method in ("GET", "DELETE"):
        response = admin(method, "/v1/api-keys/0123456789ab", context, route="/v1/api-keys/{id}")
        assert response["statusCode"] == 404


def test_the_list_pages_with_opaque_tokens(aws, context) -> None:
    for n in range(3):
        issue_api_key(f"bot-{n}", scopes=["events:read"])

    first = body_of(admin("GET", "/v1/api-keys", context, query={"limit": "2"}))
    rest = body_of(admin("GET", "/v1/api-keys", context, query={"limit": "2", "next_token": first["next_token"]}))
    forged = admin("GET", "/v1/api-keys", context, query={"next_token": "p1.AAAA"})

    assert sorted(k["name"] for k in first["items"] + rest["items"]) == ["bot-0", "bot-1", "bot-2"]
    assert "APIKEY" not in first["next_token"]
    assert forged["statusCode"] == 400


@pytest.mark.parametrize("scopes", [["registrations:read", "registrations:write", "messages:*"], []])
def test_key_management_needs_the_admin_scope(aws, context, scopes: list[str]) -> None:
    bot = authorizer_context("bot000000001", "bot", scopes, [], None)

    for route_key in (k for k, scope in ROUTE_SCOPES.items() if scope == "admin"):
        method, route = route_key.split(" ")
        path = route.replace("{id}", "0123456789ab")
        response = admin(method, path, context, route=route, authorizer=bot, body={"name": "x", "scopes": ["admin"]})
        assert response["statusCode"] == 403, route_key
        assert body_of(response)["required_scope"] == "admin"
    assert table_items() == []


def test_the_openapi_document_names_each_routes_scope(providers, context) -> None:
    document = body_of(meta_handler.lambda_handler(api_event("GET", "/v1/openapi.json", authorizer=None), context))

    for route_key, scope in ROUTE_SCOPES.items():
        method, path = route_key.split(" ")
        operation = document["paths"][path][method.lower()]
        assert operation["x-required-scope"] == scope
        assert operation["security"] == [{"apiKey": [scope]}]
        assert "403" in operation["responses"]
    assert document["paths"]["/v1/health"]["get"]["security"] == []


# -- the command line -----------------------------------------------------------------------------


def test_the_cli_creates_lists_and_revokes_showing_the_key_once(aws, context, capsys) -> None:
    assert (
        cli.main(
            ["create", "--name", "ops-bot", "--scope", "registrations:read messages:*", "--expires", "90d"], now=NOW
        )
        == 0
    )
    created = capsys.readouterr()
    key = created.out.strip()
    (item,) = table_items()
    key_id = item["key_id"]["S"]

    assert cli.main(["list"], now=NOW) == 0
    listed = capsys.readouterr()
    assert cli.main(["revoke", key_id], now=NOW) == 0
    revoked = capsys.readouterr()
    assert cli.main(["list"], now=NOW) == 0
    after = capsys.readouterr()

    assert key.startswith("cbk_") and key not in created.err
    assert item["scopes"] == {"L": [{"S": s} for s in ("registrations:read", "messages:read", "messages:write")]}
    assert item["valid_until"]["S"].startswith((NOW + timedelta(days=90)).date().isoformat())
    assert key_id in listed.out and "active" in listed.out
    assert key not in listed.out + listed.err + revoked.out + revoked.err + after.out
    assert "revoked" in after.out and "60 s" in revoked.err
    assert not authorizes(key, context)


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["create", "--name", "x"], 2),  # no scope: argparse's usage error
        (["create", "--name", "x", "--scope", "everything"], 1),
        (["create", "--name", "x", "--scope", "admin", "--expires", "soon"], 2),
        (["revoke", "0123456789ab"], 1),
    ],
)
def test_the_cli_refuses_what_it_cannot_do(aws, argv: list[str], code: int) -> None:
    if code == 2:
        with pytest.raises(SystemExit) as stopped:
            cli.main(argv, now=NOW)
        assert stopped.value.code == 2
    else:
        assert cli.main(argv, now=NOW) == code
    assert table_items() == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12h", NOW + timedelta(hours=12)),
        ("2031-06-30", datetime(2031, 6, 30, tzinfo=UTC)),
        ("2031-06-30T08:00:00Z", datetime(2031, 6, 30, 8, tzinfo=UTC)),
        ("2031-06-30T10:00:00+02:00", datetime(2031, 6, 30, 8, tzinfo=UTC)),
    ],
)
def test_expiries_are_read_as_durations_dates_or_instants(text: str, expected: datetime) -> None:
    assert cli.parse_expiry(text, NOW) == expected
