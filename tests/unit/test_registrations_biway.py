"""Bi-way establishments, accounts and RCS testers through POST /v1/registrations (Given/When/Then).

The Bi-way fake is the simulator's socket-free logic (local/simulators/biway.py): what it would
post to the callback URL is taken with `take_callbacks()`.
"""

from __future__ import annotations

import json

import boto3
import httpx
import pytest

from chatbridge.store import get_store
from local.simulators.biway import DEMO_AGENT_ID, BiwaySimulator
from tests.simulated import SimulatorFake
from tests.support import FakeLambdaContext, body_of
from tests.support import get_registration as get
from tests.support import post_registration as post
from tests.unit.conftest import registration_items, table_items

COMPANY = {
    "provider": "biway",
    "kind": "company",
    "name": "Boulangerie Martin",
    "siret": "73282932000074",
    "city": "Paris",
    "country": "fr",
}
ACCOUNT = {"provider": "biway", "kind": "account", "email": "Jeanne.Martin@Example.fr", "first_name": "Jeanne"}
TESTER = {"provider": "biway", "kind": "tester", "agent_id": DEMO_AGENT_ID, "phone": "+33 6 70 00 00 00"}


def simulator_of(fake: SimulatorFake) -> BiwaySimulator:
    assert isinstance(fake.simulator, BiwaySimulator)
    return fake.simulator


def test_a_company_is_created_from_the_partner_account_and_waits_for_verification(biway, context) -> None:
    response = post({**COMPANY, "attributes": {"naf_code": "1071C", "name": "ignored"}}, context)

    assert response["statusCode"] == 201, response["body"]
    (request,) = biway.requests
    assert str(request.url) == "https://biway.test/client/company"
    assert request.headers["authorization"] == "Bearer biway-test-key"
    # typed fields win over attributes of the same name; the rest of the attributes is forwarded
    assert json.loads(request.content) == {
        "naf_code": "1071C",
        "name": "Boulangerie Martin",
        "siret": "73282932000074",
        "city": "Paris",
        "country": "FR",
    }
    created = body_of(response)
    (company,) = [r for r in simulator_of(biway).resources.values() if r.kind == "company"]
    assert created["status"] == "pending_verification"
    assert created["provider_ref"] == company.id
    assert created["user_id"] == "73282932000074"
    assert created["details"]["kind"] == "company"
    assert created["details"]["state_at_creation"] == "pending_verification"


def test_an_account_is_created_keyed_by_its_lowercased_email(biway, context) -> None:
    response = post(ACCOUNT, context)

    assert response["statusCode"] == 201
    assert str(biway.requests[0].url) == "https://biway.test/system/account"
    assert json.loads(biway.requests[0].content) == {"email": "jeanne.martin@example.fr", "first_name": "Jeanne"}
    created = body_of(response)
    assert created["user_id"] == "jeanne.martin@example.fr"
    assert created["status"] == "pending_verification"


def test_a_tester_is_registered_on_an_active_agent_keyed_by_its_phone_digits(biway, context) -> None:
    response = post(TESTER, context)

    assert response["statusCode"] == 201
    assert str(biway.requests[0].url) == "https://biway.test/messenger/rcs-tester"
    assert json.loads(biway.requests[0].content) == {"agent_id": DEMO_AGENT_ID, "phone": "33670000000"}
    created = body_of(response)
    assert created["user_id"] == "33670000000"
    assert created["details"]["agent_id"] == DEMO_AGENT_ID


def test_a_registration_is_found_by_bi_ways_id_for_its_callbacks(biway, context) -> None:
    created = body_of(post(COMPANY, context))

    found = get_store().find_registration_by_provider_ref("biway", created["provider_ref"])

    assert found is not None and found.id == created["id"]
    assert get_store().find_registration_by_provider_ref("biway", "cmp_unknown") is None
    pointer = boto3.client("dynamodb").get_item(
        TableName="chatbridge-test",
        Key={"pk": {"S": f"REGREF#biway#{created['provider_ref']}"}, "sk": {"S": "REGREF"}},
    )["Item"]
    assert pointer["registration_id"] == {"S": created["id"]}


def test_bi_way_reports_the_verification_on_the_callback_url_naming_its_id(biway, context) -> None:
    company = body_of(post(COMPANY, context))
    account = body_of(post(ACCOUNT, context))
    tester = body_of(post(TESTER, context))

    callbacks = [c.payload for c in simulator_of(biway).take_callbacks()]

    assert [(c["event"], c["resource_id"], c["state"]) for c in callbacks] == [
        ("COMPANY_STATE", company["provider_ref"], "active"),
        ("ACCOUNT_STATE", account["provider_ref"], "active"),
        ("TESTER_STATE", tester["provider_ref"], "accepted"),
    ]
    assert all(c["occurred_at"].endswith("Z") and c["event_id"] for c in callbacks)


def test_registrations_are_found_by_their_user_id(biway, context) -> None:
    created = body_of(post(COMPANY, context))

    by_id = get(f"/v1/registrations/{created['id']}", context)
    by_user = get("/v1/registrations", context, query={"provider": "biway", "user_id": "73282932000074"})

    assert body_of(by_id) == created
    assert body_of(by_user)["items"] == [created]


def test_a_duplicate_is_a_409_and_the_first_registration_stays(biway, context) -> None:
    first = body_of(post(COMPANY, context))

    again = post(COMPANY, context)

    assert again["statusCode"] == 409
    problem = body_of(again)
    assert problem["title"] == "Bi-way reports a duplicate"
    assert problem["provider_code"] == "409"
    stored = body_of(get(f"/v1/registrations/{first['id']}", context))
    assert stored["provider_ref"] == first["provider_ref"]


def test_a_tester_of_an_unknown_agent_is_a_422(biway, context) -> None:
    response = post({**TESTER, "agent_id": "agt_nope"}, context)

    assert response["statusCode"] == 422
    problem = body_of(response)
    assert problem["title"] == "Bi-way does not know a referenced resource"
    assert problem["provider_code"] == "404"
    assert registration_items() == []


def test_a_tester_of_an_agent_not_yet_active_is_a_422(biway, context) -> None:
    simulator_of(biway).resources[DEMO_AGENT_ID].state = "pending_verification"

    response = post(TESTER, context)

    assert response["statusCode"] == 422
    assert body_of(response)["provider_code"] == "422"
    assert "not active" in body_of(response)["detail"]


def test_a_user_key_on_a_partner_service_is_a_502_naming_the_credentials(biway, context) -> None:
    simulator_of(biway).api_keys["user-only-key"] = frozenset({"user"})
    boto3.client("secretsmanager").create_secret(
        Name="chatbridge/biway/shop",
        SecretString=json.dumps({"api_key": "user-only-key", "base_url": "https://biway.test"}),
    )

    response = post({**COMPANY, "connection": "shop"}, context)

    assert response["statusCode"] == 502
    assert body_of(response)["title"] == "Bi-way refused our credentials"
    assert body_of(response)["provider_code"] == "403"
    assert "user-only-key" not in response["body"]


def test_an_unknown_key_is_a_502(biway, context) -> None:
    simulator_of(biway).api_keys.clear()

    response = post(ACCOUNT, context)

    assert response["statusCode"] == 502
    assert body_of(response)["provider_code"] == "401"


@pytest.mark.parametrize("provider_status", [500, 503])
def test_a_creation_answered_5xx_is_not_repeated(biway, context, provider_status: int) -> None:
    biway.script = [provider_status]

    response = post(COMPANY, context)

    assert response["statusCode"] == 502
    assert len(biway.requests) == 1
    assert table_items() == []


def test_a_timeout_is_a_504_without_a_second_creation(biway, context) -> None:
    biway.script = [httpx.ReadTimeout("slow")]

    response = post(ACCOUNT, context)

    assert response["statusCode"] == 504
    assert len(biway.requests) == 1


def test_a_429_is_retried_since_bi_way_did_not_process_it(biway, context) -> None:
    biway.script = [429, 429]

    response = post(ACCOUNT, context)

    assert response["statusCode"] == 201
    assert len(biway.requests) == 3


def test_rate_limited_three_times_is_a_429_problem(biway, context) -> None:
    biway.script = [429, 429, 429]

    response = post(ACCOUNT, context)

    assert response["statusCode"] == 429
    problem = body_of(response)
    assert problem["title"] == "Bi-way is rate limiting us"
    assert problem["provider_code"] == "429"


def test_idempotency_key_replays_without_creating_twice(biway, context) -> None:
    headers = {"idempotency-key": "company-1"}

    first = post(COMPANY, context, headers)
    second = post(COMPANY, FakeLambdaContext(), headers)

    assert first["statusCode"] == second["statusCode"] == 201
    assert body_of(first) == body_of(second)
    assert len(biway.requests) == 1
