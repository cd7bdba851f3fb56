"""Scopes: each route's scope is checked at the edge from the authorizer's context; provider
limits in the routes. Keys are issued and authorized for real, then every template route is called."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest

import authorizer_handler
from chatbridge.access import DATA_SCOPES, ROUTE_SCOPES, SCOPES, expand_scopes
from chatbridge.logic.api_keys import issue_api_key
from local.template import functions, http_routes
from tests.support import api_event, body_of

GUARDED = [r for r in http_routes() if not r.public]


def handler_for(function_name: str) -> Any:
    info = functions()[function_name]
    return getattr(importlib.import_module(info.module), info.attribute)


def authorized(key: str, context: Any) -> dict[str, Any]:
    """What the gateway hands the function: the authorizer's context for `key`."""
    answer = authorizer_handler.lambda_handler({"headers": {"x-api-key": key}}, context)
    assert answer["isAuthorized"] is True
    authorization: dict[str, Any] = answer["context"]
    return authorization


def call(route: Any, authorization: dict[str, Any], context: Any, **kwargs: Any) -> dict[str, Any]:
    path = re.sub(r"\{[^}]+\}", "0123456789ab", route.path)
    event = api_event(route.method, path, route=route.path, authorizer=authorization, **kwargs)
    response: dict[str, Any] = handler_for(route.function)(event, context)
    return response


def test_every_guarded_template_route_declares_one_known_scope() -> None:
    assert set(ROUTE_SCOPES) == {r.route_key for r in GUARDED}
    assert set(ROUTE_SCOPES.values()) <= set(SCOPES)


def test_a_key_limited_to_registrations_read_reads_registrations_and_nothing_else(providers, context) -> None:
    reader = authorized(issue_api_key("reader", scopes=["registrations:read"]).key, context)

    for route in GUARDED:
        response = call(route, reader, context, body="{}", query={"provider": "smartregion", "user_id": "u"})
        if ROUTE_SCOPES[route.route_key] == "registrations:read":
            assert response["statusCode"] in (200, 404), (route.route_key, response["body"])
        else:
            assert response["statusCode"] == 403, route.route_key
            problem = body_of(response)
            assert response["headers"]["Content-Type"] == "application/problem+json"
            assert problem["required_scope"] == ROUTE_SCOPES[route.route_key]
            assert f"`{ROUTE_SCOPES[route.route_key]}`" in problem["detail"]
    assert providers.fakes["smartregion.test"].requests == []  # type: ignore[attr-defined]


def test_a_read_only_key_cannot_register_and_the_provider_is_not_called(smartregion, context) -> None:
    reader = authorized(issue_api_key("reader", scopes=["registrations:read"]).key, context)
    writer = authorized(issue_api_key("writer", scopes=["registrations:write"]).key, context)
    body = {"provider": "smartregion", "user_id": "tg-1", "payload": "P"}
    (post,) = [r for r in GUARDED if r.route_key == "POST /v1/registrations"]

    refused = call(post, reader, context, body=body)
    created = call(post, writer, context, body=body)

    assert refused["statusCode"] == 403
    assert body_of(refused)["required_scope"] == "registrations:write"
    assert created["statusCode"] == 201
    assert len(smartregion.requests) == 1


def test_admin_is_needed_for_key_management_and_grants_nothing_else(providers, context) -> None:
    admin = authorized(issue_api_key("admin", scopes=["admin"]).key, context)

    for route in GUARDED:
        response = call(route, admin, context, body="{}")
        assert (response["statusCode"] == 403) is (ROUTE_SCOPES[route.route_key] != "admin"), route.route_key


def test_capability_wildcards_expand_and_unknown_scopes_are_refused() -> None:
    assert expand_scopes(["messages:*"]) == ("messages:read", "messages:write")
    assert expand_scopes(["events:*", "admin"]) == ("events:read", "admin")
    assert set(expand_scopes(DATA_SCOPES)) == set(SCOPES) - {"admin"}
    for wrong in (["*"], ["registrations:delete"], ["admin:*"], ["registrations"]):
        with pytest.raises(ValueError):
            expand_scopes(wrong)


# -- provider limits --------------------------------------------------------------------------


def _register(authorization: dict[str, Any], body: dict[str, Any], context: Any) -> dict[str, Any]:
    (post,) = [r for r in GUARDED if r.route_key == "POST /v1/registrations"]
    return call(post, authorization, context, body=body)


def test_a_key_limited_to_a_provider_cannot_target_another(providers, context) -> None:
    limited = authorized(issue_api_key("sr", scopes=["registrations:*"], providers=["smartregion"]).key, context)
    everything = authorized(issue_api_key("all", scopes=["registrations:*"]).key, context)
    biway = {"provider": "biway", "kind": "company", "name": "Boulangerie", "siret": "73282932000074"}

    refused = _register(limited, biway, context)
    other = body_of(_register(everything, biway, context))
    allowed = _register(limited, {"provider": "smartregion", "user_id": "tg-2", "payload": "P"}, context)
    (get_one,) = [r for r in GUARDED if r.route_key == "GET /v1/registrations/{id}"]
    hidden = handler_for(get_one.function)(
        api_event("GET", f"/v1/registrations/{other['id']}", route=get_one.path, authorizer=limited), context
    )
    shown = handler_for(get_one.function)(
        api_event("GET", f"/v1/registrations/{other['id']}", route=get_one.path, authorizer=everything), context
    )

    assert refused["statusCode"] == 403
    assert "biway/default" in body_of(refused)["detail"]
    assert allowed["statusCode"] == 201
    assert hidden["statusCode"] == 404  # outside the limits: as if it did not exist
    assert shown["statusCode"] == 200


def test_a_key_limited_to_a_connection_sees_only_that_connection(providers, context) -> None:
    limited = authorized(
        issue_api_key("one", scopes=["contacts:read", "registrations:read"], providers=["watbot/other"]).key, context
    )
    (contacts,) = [r for r in GUARDED if r.route_key == "GET /v1/contacts"]
    (find,) = [r for r in GUARDED if r.route_key == "GET /v1/registrations"]

    default_connection = call(contacts, limited, context)
    named = call(contacts, limited, context, query={"connection": "other"})
    other_provider = call(find, limited, context, query={"provider": "smartregion", "user_id": "u"})

    assert default_connection["statusCode"] == 403
    assert "watbot/default" in body_of(default_connection)["detail"]
    assert named["statusCode"] != 403  # allowed through (the connection's secret is another matter)
    assert other_provider["statusCode"] == 403
