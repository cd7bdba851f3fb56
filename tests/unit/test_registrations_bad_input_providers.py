"""Bad Smartico, Imbee and Bi-way registration bodies: a 422 naming the fields, nothing stored, no provider called."""

from __future__ import annotations

import json
from typing import Any

import pytest

import registrations_handler
from tests.support import ProviderFakes, api_event, body_of
from tests.unit.conftest import registration_items, table_items

SMARTICO = {
    "provider": "smartico",
    "first_name": "First",
    "last_name": "Last",
    "bo_user_email": "aff@example.com",
    "username": "username123",
    "password": "Q1w2e3r4",
    "country": "BG",
    "tc": True,
    "token": "captcha-token",
}
IMBEE = {"provider": "imbee", "unique_id_sha": "user-sha-1"}
COMPANY = {"provider": "biway", "kind": "company", "name": "Boulangerie", "siret": "73282932000074"}
ACCOUNT = {"provider": "biway", "kind": "account", "email": "jeanne@example.fr"}
TESTER = {"provider": "biway", "kind": "tester", "agent_id": "agt_demo", "phone": "+33670000000"}


def without(body: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != name}


CASES: list[tuple[dict[str, Any], set[str]]] = [
    # Smartico: the document's mandatory fields and rules
    *[(without(SMARTICO, name), {name}) for name in SMARTICO if name != "provider"],
    ({**SMARTICO, "username": "short"}, {"username"}),
    ({**SMARTICO, "password": "Sh0rt"}, {"password"}),
    ({**SMARTICO, "password": "alllowercase1"}, {"password"}),
    ({**SMARTICO, "password": "ALLUPPERCASE1"}, {"password"}),
    ({**SMARTICO, "password": "NoDigitsHere"}, {"password"}),
    ({**SMARTICO, "tc": False}, {"tc"}),
    ({**SMARTICO, "bo_user_email": "not-an-email"}, {"bo_user_email"}),
    ({**SMARTICO, "bo_user_email": "somemail@somewhere"}, {"bo_user_email"}),
    ({**SMARTICO, "country": "XX"}, {"country"}),
    ({**SMARTICO, "country": "BGR"}, {"country"}),
    ({**SMARTICO, "language": "xx"}, {"language"}),
    ({**SMARTICO, "language": "fra"}, {"language"}),
    ({**SMARTICO, "parent_affiliate_id": "seven"}, {"parent_affiliate_id"}),
    ({**SMARTICO, "manager_id": 0}, {"manager_id"}),
    ({**SMARTICO, "extra_role_ids": ["admin"]}, {"extra_role_ids.0"}),
    ({**SMARTICO, "web_site_url": "googe.com"}, {"web_site_url"}),
    ({**SMARTICO, "phone_number": "call me"}, {"phone_number"}),
    ({**SMARTICO, "hostname": "aff.example.com"}, {"hostname"}),  # comes from the connection only
    # Imbee
    ({"provider": "imbee"}, {"unique_id_sha"}),
    ({**IMBEE, "unique_id_sha": "  "}, {"unique_id_sha"}),
    ({**IMBEE, "uniqueIdSha": "x"}, {"uniqueIdSha"}),
    ({**IMBEE, "platform": 3}, {"platform"}),
    # Bi-way: the kind, then each kind's required fields
    (without(COMPANY, "kind"), {"kind"}),
    ({**COMPANY, "kind": "franchise"}, {"kind"}),
    (without(COMPANY, "siret"), {"siret"}),
    ({**COMPANY, "siret": "1234"}, {"siret"}),
    (without(COMPANY, "name"), {"name"}),
    ({**COMPANY, "country": "France"}, {"country"}),
    (without(ACCOUNT, "email"), {"email"}),
    ({**ACCOUNT, "email": "jeanne"}, {"email"}),
    (without(TESTER, "agent_id"), {"agent_id"}),
    ({**TESTER, "phone": "06 70"}, {"phone"}),
    ({**TESTER, "phone": "+0033670000000"}, {"phone"}),
    ({**TESTER, "surprise": 1}, {"surprise"}),
    ({**TESTER, "attributes": {f"k{i}": i for i in range(51)}}, {"attributes"}),
]


@pytest.mark.parametrize(("body", "fields"), CASES)
def test_invalid_bodies_are_422_problems_and_nothing_is_stored_or_sent(
    providers: ProviderFakes, context, body: dict[str, Any], fields: set[str]
) -> None:
    response = registrations_handler.lambda_handler(api_event("POST", "/v1/registrations", body=body), context)

    assert response["statusCode"] == 422, response["body"]
    assert response["headers"]["Content-Type"] == "application/problem+json"
    problem = body_of(response)
    assert {e["field"] for e in problem["errors"]} == fields
    for host in ("smartico.test", "imbee.test", "biway.test"):
        assert providers.fakes[host].requests == []  # type: ignore[attr-defined]
    assert registration_items() == []
    assert table_items() == []


def test_a_weak_password_is_explained_without_being_echoed(providers, context) -> None:
    body = {**SMARTICO, "password": "secretpass"}

    response = registrations_handler.lambda_handler(api_event("POST", "/v1/registrations", body=body), context)

    problem = body_of(response)
    assert problem["errors"][0]["message"].endswith("password needs an uppercase letter, a digit")
    assert "secretpass" not in response["body"]


def test_an_unknown_bi_way_kind_lists_the_supported_ones(providers, context) -> None:
    body = json.dumps({**COMPANY, "kind": "franchise"})

    response = registrations_handler.lambda_handler(api_event("POST", "/v1/registrations", body=body), context)

    assert body_of(response)["errors"] == [
        {"field": "kind", "message": "unknown kind; supported: company, account, tester"}
    ]


@pytest.mark.parametrize("provider", ["smartico", "imbee", "biway"])
def test_an_unknown_connection_names_the_secret_to_create(providers, context, provider: str) -> None:
    body = {"smartico": SMARTICO, "imbee": IMBEE, "biway": COMPANY}[provider]

    response = registrations_handler.lambda_handler(
        api_event("POST", "/v1/registrations", body={**body, "connection": "staging"}), context
    )

    assert response["statusCode"] == 422
    assert body_of(response)["errors"] == [
        {"field": "connection", "message": f"create the secret chatbridge/{provider}/staging first"}
    ]
    assert registration_items() == []


@pytest.mark.parametrize("provider", ["smartico", "imbee", "biway"])
def test_the_query_by_user_accepts_the_new_providers(providers, context, provider: str) -> None:
    event = api_event("GET", "/v1/registrations", query={"provider": provider, "user_id": "nobody"})

    response = registrations_handler.lambda_handler(event, context)

    assert response["statusCode"] == 200
    assert body_of(response) == {"items": [], "next_token": None}
