"""Webhook subscriptions through the Webhooks function: create (secret once), read, list, change,
delete, rotate, the catalogue; secrets never stored in clear, logged or returned again."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

import meta_handler
from chatbridge.clock import utc_now as clock_now
from chatbridge.logic import webhooks as logic
from chatbridge.logic.deliveries import open_signing_secrets
from chatbridge.store.base import get_webhook_store
from tests.support import api_event, body_of
from tests.unit.conftest import table_items
from tests.unit.webhooks_support import BOT_URL, Clock, call, subscribe

ROUTE = "/v1/webhooks/{id}"


def test_a_subscription_is_created_with_a_secret_shown_once(aws, context, capsys) -> None:
    response = call(
        "POST", "/v1/webhooks", context, body={"url": BOT_URL, "event_types": ["biway.message.*"], "description": "bot"}
    )

    assert response["statusCode"] == 201
    created = body_of(response)
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert response["headers"]["Location"] == f"/v1/webhooks/{created['id']}"
    assert created["id"].startswith("wh_") and created["enabled"] is True
    assert created["event_types"] == ["biway.message.*"]
    read = body_of(call("GET", f"/v1/webhooks/{created['id']}", context, route=ROUTE))
    listed = body_of(call("GET", "/v1/webhooks", context))["items"]
    assert "secret" not in read and all("secret" not in item for item in listed)
    assert read == {k: v for k, v in created.items() if k != "secret"}
    # sealed with KMS: the secret is in no item and in no log line
    assert secret not in json.dumps(table_items())
    assert secret.removeprefix("whsec_") not in capsys.readouterr().out


def test_a_sealed_secret_opens_only_for_its_own_subscription(aws, context) -> None:
    first, secret = subscribe(context)
    second, _ = subscribe(context)
    store = get_webhook_store()
    one, two = store.get_webhook(first["id"]), store.get_webhook(second["id"])
    assert one is not None and two is not None

    assert open_signing_secrets(one, one.created_at) == [secret]
    swapped = two.model_copy(update={"secrets": one.secrets})
    with pytest.raises(Exception, match=r"decrypt|context"):
        open_signing_secrets(swapped, two.created_at)


def test_the_same_idempotency_key_gives_the_same_subscription_without_its_secret(aws, context) -> None:
    headers = {"Idempotency-Key": "create-bot-1"}
    body = {"url": BOT_URL, "event_types": ["*"]}
    first = call("POST", "/v1/webhooks", context, body=body, headers=headers)
    again = call("POST", "/v1/webhooks", context, body=body, headers=headers)
    other_body = call("POST", "/v1/webhooks", context, body={**body, "description": "x"}, headers=headers)

    assert (first["statusCode"], again["statusCode"], other_body["statusCode"]) == (201, 200, 422)
    assert body_of(again)["id"] == body_of(first)["id"]
    assert body_of(again).get("secret") is None
    assert len(body_of(call("GET", "/v1/webhooks", context))["items"]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://bot.example.com/x", "event_types": ["*"]}, "url"),
        ({"url": "https://intranet.example.com/x", "event_types": ["*"]}, "url"),
        ({"url": "https://169.254.169.254/latest", "event_types": ["*"]}, "url"),
        ({"url": BOT_URL, "event_types": ["nothing.like.this"]}, "event_types.0"),
        ({"url": BOT_URL, "event_types": ["*", "Biway.Message"]}, "event_types.1"),
        ({"url": BOT_URL, "event_types": []}, "event_types"),
        ({"url": BOT_URL, "event_types": ["*"], "secret": "whsec_mine"}, "secret"),
    ],
)
def test_unsafe_urls_and_unknown_types_are_refused(aws, context, body: dict[str, Any], field: str) -> None:
    response = call("POST", "/v1/webhooks", context, body=body)

    assert response["statusCode"] == 422, response["body"]
    assert field in [e["field"] for e in body_of(response)["errors"]]
    assert body_of(call("GET", "/v1/webhooks", context))["items"] == []


@pytest.mark.parametrize(
    "patterns",
    [["*"], ["biway.*"], ["biway.message.*", "smartregion.user.connected"], ["biway.message.undeliverable"]],
)
def test_catalogue_types_wildcards_and_new_states_of_known_resources_are_accepted(aws, context, patterns) -> None:
    created, _ = subscribe(context, event_types=patterns)

    assert created["event_types"] == patterns


def test_a_subscription_is_disabled_enabled_and_changed(aws, context) -> None:
    created, _ = subscribe(context)
    path = f"/v1/webhooks/{created['id']}"
    store = get_webhook_store()

    disabled = body_of(call("PATCH", path, context, route=ROUTE, body={"enabled": False}))
    store.update_webhook(created["id"], {"failing_since": clock_now(), "disabled_reason": "failing"})
    enabled = body_of(call("PATCH", path, context, route=ROUTE, body={"enabled": True, "event_types": ["biway.*"]}))
    refused = call("PATCH", path, context, route=ROUTE, body={"url": "https://localhost/x"})
    empty = call("PATCH", path, context, route=ROUTE, body={})
    null = call("PATCH", path, context, route=ROUTE, body={"url": None})

    assert disabled["enabled"] is False and disabled["disabled_at"]
    assert enabled["enabled"] is True and enabled["event_types"] == ["biway.*"]
    assert enabled["disabled_reason"] is None and enabled["failing_since"] is None and enabled["disabled_at"] is None
    assert (refused["statusCode"], empty["statusCode"], null["statusCode"]) == (422, 422, 422)


def test_a_deleted_subscription_is_gone(aws, context) -> None:
    created, _ = subscribe(context)
    path = f"/v1/webhooks/{created['id']}"

    assert call("DELETE", path, context, route=ROUTE)["statusCode"] == 204
    assert call("GET", path, context, route=ROUTE)["statusCode"] == 404
    assert call("DELETE", path, context, route=ROUTE)["statusCode"] == 404


def test_a_rotated_secret_signs_beside_the_old_one_for_24_hours(aws, context) -> None:
    created, old = subscribe(context)
    clock = Clock()

    rotated = logic.rotate_secret(created["id"], clock=clock)

    item = get_webhook_store().get_webhook(created["id"])
    assert item is not None
    assert rotated.secret != old and rotated.previous_secret_expires_at == clock.now + timedelta(hours=24)
    assert open_signing_secrets(item, clock.now) == [rotated.secret, old]
    assert open_signing_secrets(item, clock.now + timedelta(hours=23, minutes=59)) == [rotated.secret, old]
    assert open_signing_secrets(item, clock.now + timedelta(hours=24)) == [rotated.secret]
    view = logic.get_webhook(created["id"])
    assert view.previous_secret_expires_at is not None  # until the real clock passes it
    assert rotated.secret not in json.dumps(table_items())


def test_the_rotation_route_answers_the_new_secret(aws, context) -> None:
    created, old = subscribe(context)

    response = call("POST", f"/v1/webhooks/{created['id']}/rotate-secret", context, route=ROUTE + "/rotate-secret")

    rotation = body_of(response)
    assert response["statusCode"] == 200
    assert rotation["webhook_id"] == created["id"] and rotation["secret"].startswith("whsec_")
    assert rotation["secret"] != old


def test_subscriptions_are_listed_page_by_page(aws, context) -> None:
    ids = [subscribe(context)[0]["id"] for _ in range(3)]

    first = body_of(call("GET", "/v1/webhooks", context, query={"limit": "2"}))
    second = body_of(call("GET", "/v1/webhooks", context, query={"limit": "2", "next_token": first["next_token"]}))

    assert [w["id"] for w in first["items"] + second["items"]] == ids
    assert second["next_token"] is None


def test_the_catalogue_lists_every_type_with_an_example_body(aws, context) -> None:
    catalogue = body_of(call("GET", "/v1/event-types", context))["items"]

    names = [t["name"] for t in catalogue]
    assert {"smartregion.user.connected", "biway.message.read", "biway.account.active"} <= set(names)
    assert "chatbridge.webhook.disabled" in names
    assert len(names) == len(set(names))
    for entry in catalogue:
        assert entry["description"]
        assert entry["example"]["type"] == entry["name"]
        assert entry["example"]["data"]["id"]


def test_the_openapi_document_has_the_routes_and_the_catalogue(aws, context) -> None:
    document = body_of(meta_handler.lambda_handler(api_event("GET", "/v1/openapi.json"), context))

    assert {"/v1/webhooks", "/v1/webhooks/{id}", "/v1/event-types", "/v1/events/{id}/replay"} <= set(document["paths"])
    examples = document["paths"]["/v1/event-types"]["get"]["responses"]["200"]["content"]["application/json"]
    listed = examples["examples"]["catalogue"]["value"]["items"]
    assert {entry["name"] for entry in listed} == {t.name for t in logic.catalogue().items}
