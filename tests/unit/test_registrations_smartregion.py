"""SmartRegion registration through POST /v1/registrations (Given/When/Then)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.simulated import SimulatorFake
from tests.support import FakeLambdaContext, body_of
from tests.support import get_registration as get
from tests.support import post_registration as post
from tests.unit.conftest import registration_items

REGISTRATION = {
    "provider": "smartregion",
    "user_id": "tg-100500",
    "payload": "PAYLOAD123",
    "user_field": {"name": "Ivan", "lastname": "Ivanov", "age": 30},
}


def test_new_user_is_registered_with_exactly_the_documented_request(smartregion: SimulatorFake, context) -> None:
    # When a new user is registered
    response = post(REGISTRATION, context)

    # Then SmartRegion got the documented call, with channel and project from the connection secret
    assert response["statusCode"] == 201
    (request,) = smartregion.requests
    assert request.method == "POST"
    assert str(request.url) == "https://smartregion.test/registration"
    assert request.headers["accept"] == "application/json"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-api-key"] == "sr-test-key"
    assert json.loads(request.content) == {
        "channel_id": "chan-1",
        "project_id": "proj-1",
        "payload": "PAYLOAD123",
        "user_field": {"name": "Ivan", "lastname": "Ivanov", "age": 30},
        "user_id": "tg-100500",
    }
    # And the registration resource is returned and stored
    created = body_of(response)
    assert created["provider"] == "smartregion"
    assert created["status"] == "registered"
    assert created["user_id"] == "tg-100500"
    assert created["details"]["last_outcome"] == "created"
    assert response["headers"]["Location"] == f"/v1/registrations/{created['id']}"
    assert len(registration_items()) == 1


def test_registered_user_can_be_read_back_by_id_and_by_user(smartregion: SimulatorFake, context) -> None:
    created = body_of(post(REGISTRATION, context))

    by_id = get(f"/v1/registrations/{created['id']}", context)
    by_user = get("/v1/registrations", context, query={"provider": "smartregion", "user_id": "tg-100500"})

    assert by_id["statusCode"] == 200
    assert body_of(by_id) == created
    assert by_user["statusCode"] == 200
    assert body_of(by_user) == {"items": [created], "next_token": None}


def test_registering_again_answers_200_and_updates_the_same_registration(smartregion: SimulatorFake, context) -> None:
    first = body_of(post(REGISTRATION, context))

    again = post({**REGISTRATION, "user_field": {"name": "Ivan", "phone": "+79990000000"}}, context)

    assert again["statusCode"] == 200
    updated = body_of(again)
    assert updated["id"] == first["id"]
    assert updated["created_at"] == first["created_at"]
    assert updated["details"]["user_field"] == {"name": "Ivan", "phone": "+79990000000"}
    assert updated["details"]["last_outcome"] == "updated"
    assert len(registration_items()) == 1


def test_channel_and_project_given_in_the_request_override_the_connection(smartregion, context) -> None:
    response = post({**REGISTRATION, "channel_id": "chan-2"}, context)

    assert response["statusCode"] == 201
    sent = json.loads(smartregion.requests[0].content)
    assert sent["channel_id"] == "chan-2"
    assert sent["project_id"] == "proj-1"


def test_user_field_is_optional_and_not_sent_when_absent(smartregion, context) -> None:
    response = post({"provider": "smartregion", "user_id": "u-2", "payload": "P"}, context)

    assert response["statusCode"] == 201
    assert "user_field" not in json.loads(smartregion.requests[0].content)


@pytest.mark.parametrize(
    ("provider_status", "status", "kind", "title_part"),
    [
        (404, 422, "provider-rejected", "channel or project"),
        (400, 422, "provider-rejected", "rejected"),
        (403, 502, "provider-credentials-refused", "refused our credentials"),
        (500, 502, "provider-unavailable", "unavailable"),
        (503, 502, "provider-unavailable", "unavailable"),
    ],
)
def test_provider_refusals_map_to_problems_and_store_nothing(
    smartregion: SimulatorFake, context, provider_status: int, status: int, kind: str, title_part: str
) -> None:
    smartregion.script = [provider_status] * 3

    response = post(REGISTRATION, context)

    assert response["statusCode"] == status
    assert response["headers"]["Content-Type"] == "application/problem+json"
    problem = body_of(response)
    assert problem["type"].endswith("/" + kind)
    assert title_part in problem["title"]
    assert problem["provider"] == "smartregion"
    assert problem["provider_code"] == str(provider_status)
    assert registration_items() == []


def test_unknown_channel_is_the_providers_404_as_a_422(smartregion, context) -> None:
    response = post({**REGISTRATION, "channel_id": "no-such-channel"}, context)

    assert response["statusCode"] == 422
    assert body_of(response)["provider_code"] == "404"


def test_wrong_api_key_in_the_secret_is_a_502_that_names_the_credentials(smartregion, context) -> None:
    smartregion.simulator.projects["proj-1"]["api_key"] = "rotated-key"

    response = post(REGISTRATION, context)

    assert response["statusCode"] == 502
    problem = body_of(response)
    assert problem["title"] == "SmartRegion refused our credentials"
    assert "sr-test-key" not in response["body"]


def test_transient_5xx_is_retried_because_registration_is_an_upsert(smartregion, context) -> None:
    smartregion.script = [503, 502]

    response = post(REGISTRATION, context)

    assert response["statusCode"] == 201
    assert len(smartregion.calls("/registration")) == 3


def test_provider_5xx_is_retried_three_times_then_502(smartregion, context) -> None:
    smartregion.script = [500, 500, 500, 500]

    response = post(REGISTRATION, context)

    assert response["statusCode"] == 502
    assert len(smartregion.calls("/registration")) == 3


def test_provider_timeout_is_a_504_after_retries(smartregion, context) -> None:
    smartregion.script = [httpx.ReadTimeout("slow")] * 3

    response = post(REGISTRATION, context)

    assert response["statusCode"] == 504
    assert body_of(response)["type"].endswith("/provider-timeout")
    assert len(smartregion.calls("/registration")) == 3
    assert registration_items() == []


def test_unreachable_provider_is_a_502(smartregion, context) -> None:
    smartregion.script = [httpx.ConnectError("refused")] * 3

    response = post(REGISTRATION, context)

    assert response["statusCode"] == 502
    assert body_of(response)["type"].endswith("/provider-unavailable")


def test_idempotency_key_makes_a_retried_post_call_smartregion_once(smartregion, context) -> None:
    headers = {"idempotency-key": "order-42"}

    first = post(REGISTRATION, context, headers)
    second = post(REGISTRATION, FakeLambdaContext(), headers)

    assert first["statusCode"] == second["statusCode"] == 201
    assert body_of(first) == body_of(second)
    assert len(smartregion.calls("/registration")) == 1


def test_idempotency_key_reused_with_another_body_is_refused(smartregion, context) -> None:
    headers = {"idempotency-key": "order-43"}
    post(REGISTRATION, context, headers)

    response = post({**REGISTRATION, "user_id": "someone-else"}, context, headers)

    assert response["statusCode"] == 422
    assert body_of(response)["title"] == "Idempotency-Key reused"
    assert len(smartregion.calls("/registration")) == 1


def test_failed_call_leaves_the_idempotency_key_free_for_a_retry(smartregion, context) -> None:
    headers = {"idempotency-key": "order-44"}
    smartregion.script = [500, 500, 500]
    assert post(REGISTRATION, context, headers)["statusCode"] == 502

    retried = post(REGISTRATION, context, headers)

    assert retried["statusCode"] == 201
    assert len(smartregion.calls("/registration")) == 4


def test_without_idempotency_key_each_post_calls_the_provider(smartregion, context) -> None:
    post(REGISTRATION, context)
    post(REGISTRATION, context)

    assert len(smartregion.calls("/registration")) == 2


def test_the_provider_api_key_never_reaches_responses_or_logs(smartregion, context, capsys) -> None:
    responses = [post(REGISTRATION, context)]
    smartregion.script = [403]
    responses.append(post(REGISTRATION, context))

    logged = capsys.readouterr()
    for response in responses:
        assert "sr-test-key" not in response["body"]
    assert "sr-test-key" not in logged.out + logged.err


def test_unknown_registration_id_is_a_404_problem(smartregion, context) -> None:
    response = get("/v1/registrations/00000000-0000-0000-0000-000000000000", context)

    assert response["statusCode"] == 404
    assert body_of(response)["title"] == "Registration not found"


def test_a_user_lookup_needs_the_provider(smartregion, context) -> None:
    response = get("/v1/registrations", context, query={"user_id": "u-1"})

    assert response["statusCode"] == 422
    assert {e["field"] for e in body_of(response)["errors"]} == {"provider"}


def test_query_pages_with_next_token(smartregion, context) -> None:
    for channel in ("chan-1", "chan-2"):
        post({**REGISTRATION, "channel_id": channel}, context)

    first = body_of(
        get("/v1/registrations", context, query={"provider": "smartregion", "user_id": "tg-100500", "limit": "1"})
    )
    assert len(first["items"]) == 1 and first["next_token"]
    second = body_of(
        get(
            "/v1/registrations",
            context,
            query={"provider": "smartregion", "user_id": "tg-100500", "limit": "1", "next_token": first["next_token"]},
        )
    )

    assert len(second["items"]) == 1
    assert second["items"][0]["id"] != first["items"][0]["id"]


@pytest.mark.parametrize("token", ["not-base64!!", "eyJhIjogMX0", "W10"])
def test_forged_next_token_is_a_400(smartregion, context, token: str) -> None:
    response = get("/v1/registrations", context, query={"provider": "smartregion", "user_id": "u", "next_token": token})

    assert response["statusCode"] == 400
    assert body_of(response)["errors"][0]["field"] == "next_token"
