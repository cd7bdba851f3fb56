"""Smartico affiliate registration through POST /v1/registrations (Given/When/Then).

The Smartico fake is the simulator's socket-free logic (local/simulators/smartico.py).
"""

from __future__ import annotations

import json

import boto3
import httpx
import pytest

from local.simulators.smartico import SmarticoSimulator
from tests.simulated import SimulatorFake
from tests.support import FakeLambdaContext, body_of
from tests.support import get_registration as get
from tests.support import post_registration as post
from tests.unit.conftest import registration_items, table_items

PASSWORD = "Q!w2e3r4Secret"
AFFILIATE = {
    "provider": "smartico",
    "first_name": "First-name",
    "last_name": "Last-name",
    "bo_user_email": "somemail@somewhere.com",
    "username": "username123",
    "password": PASSWORD,
    "country": "BG",
    "tc": True,
    "token": "03AGdBq261a4cR1-w32PCilF0nq04_cjKIl8T6OeWlAnC4fWfYu94Mw6VIEdazhgDwcf",
}
OPTIONAL_FIELDS = {
    "phone_number": "44097657269",
    "skype": "skype",
    "company": "Astelit",
    "web_site_url": "https://googe.com",
    "comments": "some info",
    "language": "FR",
    "parent_affiliate_id": 77,
    "manager_id": 12,
    "contact_fb": "https://facebook.com/aff",
    "contact_vk": "https://vk.com/aff",
    "contact_telegram": "@aff",
    "extra_role_ids": [3, 5],
    "ext_affiliate_id": "crm-42",
}


def simulator_of(fake: SimulatorFake) -> SmarticoSimulator:
    assert isinstance(fake.simulator, SmarticoSimulator)
    return fake.simulator


def test_new_affiliate_is_registered_with_exactly_the_documented_request(smartico: SimulatorFake, context) -> None:
    # When an affiliate registers with the mandatory fields only
    response = post(AFFILIATE, context)

    # Then Smartico got the documented call, with the connection's hostname and the password itself
    assert response["statusCode"] == 201, response["body"]
    (request,) = smartico.requests
    assert request.method == "POST"
    assert str(request.url) == "https://smartico.test/api/register-aff"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        **{k: v for k, v in AFFILIATE.items() if k != "provider"},
        "hostname": "aff.smartico.test",
    }
    # And the registration is pending (no manager), keyed by the username, with Smartico's id
    created = body_of(response)
    assert created["provider"] == "smartico"
    assert created["status"] == "pending_approval"
    assert created["user_id"] == "username123"
    assert created["provider_ref"] == "1001"
    assert response["headers"]["Location"] == f"/v1/registrations/{created['id']}"
    assert "password" not in created["details"] and "token" not in created["details"]
    assert created["details"]["hostname"] == "aff.smartico.test"
    assert len(registration_items()) == 1


def test_every_optional_field_of_the_document_is_forwarded_and_a_manager_approves(smartico, context) -> None:
    response = post({**AFFILIATE, **OPTIONAL_FIELDS}, context)

    assert response["statusCode"] == 201, response["body"]
    sent = json.loads(smartico.requests[0].content)
    assert {k: sent[k] for k in OPTIONAL_FIELDS} == OPTIONAL_FIELDS
    # the document: with a manager_id the affiliate is approved at once
    assert body_of(response)["status"] == "approved"
    assert simulator_of(smartico).affiliates["username123"].state == "approved"


def test_country_and_language_are_normalised_to_the_documents_uppercase(smartico, context) -> None:
    response = post(
        {**AFFILIATE, "country": "bg", "language": "fr", "bo_user_email": "SomeMail@Somewhere.com"}, context
    )

    assert response["statusCode"] == 201
    sent = json.loads(smartico.requests[0].content)
    assert (sent["country"], sent["language"], sent["bo_user_email"]) == ("BG", "FR", "somemail@somewhere.com")


def test_registered_affiliate_is_found_by_id_and_by_username(smartico, context) -> None:
    created = body_of(post(AFFILIATE, context))

    by_id = get(f"/v1/registrations/{created['id']}", context)
    by_user = get("/v1/registrations", context, query={"provider": "smartico", "user_id": "username123"})

    assert body_of(by_id) == created
    assert body_of(by_user) == {"items": [created], "next_token": None}


def test_the_password_is_never_stored_logged_or_echoed(smartico, context, capsys) -> None:
    responses = [post(AFFILIATE, context, {"idempotency-key": "k-1"})]
    responses.append(post(AFFILIATE, context))  # duplicate: a problem response
    responses.append(post({**AFFILIATE, "password": "weakpassword"}, context))  # our validation
    created = body_of(responses[0])
    responses.append(get(f"/v1/registrations/{created['id']}", context))

    logged = capsys.readouterr()
    for response in responses:
        assert PASSWORD not in response["body"] and "weakpassword" not in response["body"]
    assert PASSWORD not in logged.out + logged.err and "weakpassword" not in logged.out + logged.err
    assert PASSWORD not in json.dumps(table_items())
    assert AFFILIATE["token"] not in json.dumps(table_items())


@pytest.mark.parametrize(
    ("code", "status", "kind", "title"),
    [
        (-1, 422, "provider-rejected", "Smartico flagged the registration as a bot"),
        (-2, 422, "provider-rejected", "Smartico found the registration form invalid"),
        (-3, 422, "provider-rejected", "Smartico refused the username"),
        (-5, 502, "provider-credentials-refused", "Smartico does not know the connection's hostname"),
        (-6, 502, "provider-unavailable", "Smartico failed to complete the registration"),
        (-7, 409, "provider-conflict", "Username already registered at Smartico"),
        (-8, 409, "provider-conflict", "E-mail already registered at Smartico"),
        (-9, 422, "provider-rejected", "Smartico found the password too weak"),
        (-4, 502, "provider-unavailable", "Unexpected answer from Smartico"),
        (17, 502, "provider-unavailable", "Unexpected answer from Smartico"),
    ],
)
def test_every_error_code_maps_to_a_problem_and_nothing_is_stored(
    smartico, context, code: int, status: int, kind: str, title: str
) -> None:
    # Given Smartico answers this code (whatever the request holds)
    simulator_of(smartico).answer_next(code)

    response = post(AFFILIATE, context)

    assert response["statusCode"] == status
    assert response["headers"]["Content-Type"] == "application/problem+json"
    problem = body_of(response)
    assert problem["type"].endswith("/" + kind)
    assert problem["title"] == title
    assert problem["provider"] == "smartico"
    assert problem["provider_code"] == str(code)
    assert registration_items() == []
    # a refusal is an answer, not a failure: the registration is not sent twice
    assert len(smartico.requests) == 1


def test_a_taken_username_is_a_409(smartico, context) -> None:
    post(AFFILIATE, context)

    response = post({**AFFILIATE, "bo_user_email": "other@somewhere.com"}, context)

    assert response["statusCode"] == 409
    assert body_of(response)["provider_code"] == "-7"
    assert len(registration_items()) == 1


def test_a_taken_email_is_a_409(smartico, context) -> None:
    post(AFFILIATE, context)

    response = post({**AFFILIATE, "username": "another-user"}, context)

    assert response["statusCode"] == 409
    assert body_of(response)["provider_code"] == "-8"


def test_a_refused_recaptcha_token_is_a_422_bot(smartico, context) -> None:
    response = post({**AFFILIATE, "token": "bot"}, context)

    assert response["statusCode"] == 422
    assert body_of(response)["provider_code"] == "-1"
    assert "reCAPTCHA" in body_of(response)["detail"]


def test_a_hostname_unknown_to_smartico_is_a_502_naming_the_secret_field(smartico, context) -> None:
    boto3.client("secretsmanager").create_secret(
        Name="chatbridge/smartico/old-host",
        SecretString=json.dumps({"hostname": "aff.old.test", "base_url": "https://smartico.test"}),
    )

    response = post({**AFFILIATE, "connection": "old-host"}, context)

    assert response["statusCode"] == 502
    problem = body_of(response)
    assert problem["provider_code"] == "-5"
    assert "hostname" in problem["detail"]


def test_a_failed_registration_flow_is_a_502_and_can_be_retried(smartico, context) -> None:
    simulator_of(smartico).fail_flow_next()
    headers = {"idempotency-key": "flow-1"}

    failed = post(AFFILIATE, context, headers)
    retried = post(AFFILIATE, context, headers)

    assert failed["statusCode"] == 502
    assert body_of(failed)["provider_code"] == "-6"
    assert retried["statusCode"] == 201


def test_a_success_without_an_affiliate_id_is_accepted(smartico, context) -> None:
    simulator_of(smartico).answer_next(0)

    response = post(AFFILIATE, context)

    assert response["statusCode"] == 201
    assert body_of(response)["provider_ref"] is None


@pytest.mark.parametrize("provider_status", [500, 503, 404])
def test_an_answer_without_error_code_is_a_502_and_is_not_repeated(smartico, context, provider_status: int) -> None:
    smartico.script = [provider_status]

    response = post(AFFILIATE, context)

    assert response["statusCode"] == 502
    assert body_of(response)["provider_code"] == str(provider_status)
    # a registration that may have gone through is not sent again
    assert len(smartico.requests) == 1
    assert registration_items() == []


def test_a_registration_that_never_left_is_retried(smartico, context) -> None:
    smartico.script = [httpx.ConnectError("refused")]

    response = post(AFFILIATE, context)

    assert response["statusCode"] == 201
    assert len(smartico.requests) == 2


def test_a_timeout_is_a_504_without_a_second_attempt(smartico, context) -> None:
    smartico.script = [httpx.ReadTimeout("slow")]

    response = post(AFFILIATE, context)

    assert response["statusCode"] == 504
    assert len(smartico.requests) == 1


def test_idempotency_key_replays_without_calling_smartico_again(smartico, context) -> None:
    headers = {"idempotency-key": "aff-1"}

    first = post(AFFILIATE, context, headers)
    second = post(AFFILIATE, FakeLambdaContext(), headers)

    assert first["statusCode"] == second["statusCode"] == 201
    assert body_of(first) == body_of(second)
    assert len(smartico.requests) == 1
