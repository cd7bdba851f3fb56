"""Watbot contacts, tags and variables through the Contacts function (Given/When/Then)."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import boto3
import httpx
import pytest

import contacts_handler
from local.simulators.watbot import WatbotSimulator
from tests.simulated import SimulatorFake
from tests.support import FakeLambdaContext, ProviderFakes, api_event, body_of
from tests.unit.conftest import table_items

TOKEN = "wb-test-token"
# Every character the document's string concatenation would break: space, &, =, +, %, #, Cyrillic, emoji.
AWKWARD = "VIP & друзья = 100% + #1 🚀"


@pytest.fixture
def simulator(watbot: SimulatorFake) -> WatbotSimulator:
    assert isinstance(watbot.simulator, WatbotSimulator)
    return watbot.simulator


@pytest.fixture
def contact_id(simulator: WatbotSimulator) -> str:
    return str(simulator.add_contact("Мария Иванова", phone="+79990000009", created_at=1_700_000_000))


def call(
    method: str, path: str, context: FakeLambdaContext, *, route: str, body: dict | None = None, query=None
) -> dict:
    return contacts_handler.lambda_handler(api_event(method, path, route=route, body=body, query=query), context)


def tag_path(contact: str, tag: str) -> str:
    return f"/v1/contacts/{contact}/tags/{quote(tag, safe='')}"


def variable_path(contact: str, name: str) -> str:
    return f"/v1/contacts/{contact}/variables/{quote(name, safe='')}"


def sent_params(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(str(request.url)).query, keep_blank_values=True)


# -- contacts ------------------------------------------------------------------------------------


def test_contacts_are_listed_with_the_documented_call(watbot, simulator, contact_id, context) -> None:
    # Given Watbot holds a contact (besides the three demo contacts)
    # When the contacts are listed
    response = call("GET", "/v1/contacts", context, route="/v1/contacts")

    # Then Watbot got getContacts with the token in the query and Accept: application/json
    assert response["statusCode"] == 200, response["body"]
    (request,) = watbot.requests
    assert request.method == "GET"
    assert request.url.path == "/api/v1/getContacts"
    assert sent_params(request)["api_token"] == [TOKEN]
    assert request.headers["accept"] == "application/json"
    # And the contact is returned with string ids
    page = body_of(response)
    (listed,) = [c for c in page["items"] if c["id"] == contact_id]
    assert listed["name"] == "Мария Иванова"
    assert listed["bot_id"] == "7001"
    assert listed["created_at"] == "2023-11-14T22:13:20Z"  # Watbot's `2023-11-14 22:13:20`, as ISO 8601 UTC
    assert page["next_page"] is None


def test_contact_filters_and_paging_are_passed_through(watbot, simulator, context) -> None:
    for n in range(3):
        simulator.add_contact(f"c{n}", bot_id="8001", created_at=1_700_000_000 + n)

    response = call(
        "GET",
        "/v1/contacts",
        context,
        route="/v1/contacts",
        query={"count": "2", "page": "1", "date_from": "1700000000", "date_to": "1700000005", "bot_id": "8001"},
    )

    page = body_of(response)
    assert [c["name"] for c in page["items"]] == ["c0", "c1"]
    assert page["next_page"] == 2
    assert sent_params(watbot.requests[0]) == {
        "api_token": [TOKEN],
        "count": ["2"],
        "page": ["1"],
        "date_from": ["1700000000"],
        "date_to": ["1700000005"],
        "bot_id": ["8001"],
    }


@pytest.mark.parametrize(
    "query", [{"count": "501"}, {"count": "0"}, {"page": "0"}, {"date_from": "-1"}, {"connection": "../x"}]
)
def test_out_of_range_contact_queries_are_422_and_reach_no_one(watbot, context, query) -> None:
    response = call("GET", "/v1/contacts", context, route="/v1/contacts", query=query)

    assert response["statusCode"] == 422
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert watbot.requests == []


# -- tags ----------------------------------------------------------------------------------------


def test_a_tag_with_awkward_characters_round_trips(watbot, simulator, contact_id, context) -> None:
    # When a tag with spaces, &, =, %, +, #, Cyrillic and emoji is attached
    attached = call("PUT", tag_path(contact_id, AWKWARD), context, route="/v1/contacts/{id}/tags/{tag}")

    # Then Watbot received it intact, as one encoded query parameter
    assert attached["statusCode"] == 200, attached["body"]
    assert body_of(attached) == {"contact_id": contact_id, "name": AWKWARD}
    request = watbot.requests[-1]
    assert (request.method, request.url.path) == ("POST", "/api/v1/attachTagToContact")
    assert sent_params(request) == {"api_token": [TOKEN], "contact_id": [contact_id], "name": [AWKWARD]}
    # And reading the tags back gives exactly the same name
    listed = call("GET", f"/v1/contacts/{contact_id}/tags", context, route="/v1/contacts/{id}/tags")
    assert body_of(listed) == {"contact_id": contact_id, "items": [{"contact_id": contact_id, "name": AWKWARD}]}


def test_attaching_twice_keeps_one_tag_and_detaching_removes_it(simulator, contact_id, context) -> None:
    route = "/v1/contacts/{id}/tags/{tag}"
    call("PUT", tag_path(contact_id, "vip"), context, route=route)
    call("PUT", tag_path(contact_id, "vip"), context, route=route)
    assert list(simulator.contacts[int(contact_id)].tags) == ["vip"]

    detached = call("DELETE", tag_path(contact_id, "vip"), context, route=route)

    assert detached["statusCode"] == 204
    assert not detached.get("body")
    assert simulator.contacts[int(contact_id)].tags == {}


def test_detaching_a_tag_the_contact_lacks_is_still_a_204(contact_id, context) -> None:
    response = call("DELETE", tag_path(contact_id, "never-had-it"), context, route="/v1/contacts/{id}/tags/{tag}")

    assert response["statusCode"] == 204


def test_decoded_path_parameters_from_api_gateway_are_used_as_given(watbot, contact_id, context) -> None:
    # API Gateway hands path parameters decoded; a literal "%41" in a tag must not be decoded again
    event = api_event("PUT", tag_path(contact_id, "100%41"), route="/v1/contacts/{id}/tags/{tag}")
    event["pathParameters"] = {"id": contact_id, "tag": "100%41"}

    response = contacts_handler.lambda_handler(event, context)

    assert body_of(response)["name"] == "100%41"
    assert sent_params(watbot.requests[-1])["name"] == ["100%41"]


@pytest.mark.parametrize("tag", ["%20%20", "x" * 256])
def test_blank_or_too_long_tags_are_422(watbot, contact_id, context, tag) -> None:
    path = f"/v1/contacts/{contact_id}/tags/{tag}"

    response = call("PUT", path, context, route="/v1/contacts/{id}/tags/{tag}")

    assert response["statusCode"] == 422
    assert body_of(response)["errors"][0]["field"] == "tag"
    assert watbot.requests == []


def test_unknown_contact_is_a_404_from_watbot(context, providers) -> None:
    response = call("GET", "/v1/contacts/424242/tags", context, route="/v1/contacts/{id}/tags")

    assert response["statusCode"] == 404
    problem = body_of(response)
    assert problem["provider"] == "watbot"
    assert problem["provider_code"] == "404"


def test_malformed_contact_id_is_422_and_reaches_no_one(watbot, context) -> None:
    response = call("GET", "/v1/contacts/a%20b/tags", context, route="/v1/contacts/{id}/tags")

    assert response["statusCode"] == 422
    assert watbot.requests == []


# -- variables -----------------------------------------------------------------------------------


def test_variable_set_then_read_then_deleted(watbot, simulator, contact_id, context) -> None:
    route = "/v1/contacts/{id}/variables/{name}"
    name, value = "город доставки", "Санкт-Петербург, ул. Ленина 1 & 2 🚚"

    put = call("PUT", variable_path(contact_id, name), context, route=route, body={"value": value, "deletable": False})

    assert put["statusCode"] == 200, put["body"]
    assert body_of(put) == {"contact_id": contact_id, "name": name, "value": value, "deletable": False}
    request = watbot.requests[-1]
    assert (request.method, request.url.path) == ("POST", "/api/v1/setContactVariable")
    expected = {"contact_id": [contact_id], "name": [name], "value": [value], "deletable": ["0"]}
    assert sent_params(request) == {"api_token": [TOKEN], **expected}
    # the document's example also sends the fields as the POST body
    assert parse_qs(request.content.decode()) == expected

    listed = call("GET", f"/v1/contacts/{contact_id}/variables", context, route="/v1/contacts/{id}/variables")
    assert body_of(listed)["items"] == [{"contact_id": contact_id, "name": name, "value": value, "deletable": False}]

    deleted = call("DELETE", variable_path(contact_id, name), context, route=route)
    assert deleted["statusCode"] == 204
    delete_request = watbot.requests[-1]
    assert (delete_request.method, delete_request.url.path) == ("POST", "/api/v1/deleteContactVariable")
    assert simulator.contacts[int(contact_id)].variables == {}


def test_setting_a_variable_again_updates_it(simulator, contact_id, context) -> None:
    route = "/v1/contacts/{id}/variables/{name}"
    call("PUT", variable_path(contact_id, "plan"), context, route=route, body={"value": "basic"})
    call("PUT", variable_path(contact_id, "plan"), context, route=route, body={"value": "pro"})

    (variable,) = simulator.contacts[int(contact_id)].variables.values()
    assert variable.value == "pro"
    assert variable.deletable is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "value"),
        ({"value": 42}, "value"),
        ({"value": "x" * 4001}, "value"),
        ({"value": "ok", "deletable": "maybe"}, "deletable"),
        ({"value": "ok", "surprise": 1}, "surprise"),
    ],
)
def test_invalid_variable_bodies_are_422_and_reach_no_one(watbot, contact_id, context, body, field) -> None:
    response = call(
        "PUT", variable_path(contact_id, "plan"), context, route="/v1/contacts/{id}/variables/{name}", body=body
    )

    assert response["statusCode"] == 422
    assert {e["field"] for e in body_of(response)["errors"]} == {field}
    assert watbot.requests == []


def test_malformed_json_is_a_400(watbot, contact_id, context) -> None:
    event = api_event("PUT", variable_path(contact_id, "plan"), body='{"value": ')

    response = contacts_handler.lambda_handler(event, context)

    assert response["statusCode"] == 400
    assert watbot.requests == []


# -- provider failures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "status", "kind"),
    [
        ([401], 502, "provider-credentials-refused"),
        ([403], 502, "provider-credentials-refused"),
        ([422], 422, "provider-rejected"),
        ([500, 500, 500], 502, "provider-unavailable"),
        ([302], 502, "provider-unavailable"),
        ([429, 429, 429], 429, "rate-limited"),
        ([httpx.ReadTimeout("slow")] * 3, 504, "provider-timeout"),
        ([httpx.ConnectError("refused")] * 3, 502, "provider-unavailable"),
    ],
)
def test_provider_failures_map_to_problems(watbot, contact_id, context, script, status, kind) -> None:
    watbot.script = list(script)

    response = call("GET", f"/v1/contacts/{contact_id}/tags", context, route="/v1/contacts/{id}/tags")

    assert response["statusCode"] == status
    assert body_of(response)["type"].endswith("/" + kind)
    assert TOKEN not in response["body"]


def test_reads_and_upserts_are_retried_after_5xx_and_429(watbot, simulator, contact_id, context) -> None:
    watbot.script = [503, 429]

    response = call("PUT", tag_path(contact_id, "vip"), context, route="/v1/contacts/{id}/tags/{tag}")

    assert response["statusCode"] == 200
    assert len(watbot.requests) == 3
    assert "vip" in simulator.contacts[int(contact_id)].tags


def test_a_refused_token_is_reported_without_the_token(aws, context, providers) -> None:
    boto3.client("secretsmanager").create_secret(
        Name="chatbridge/watbot/rotated", SecretString='{"api_token": "old-token", "base_url": "https://watbot.test"}'
    )

    response = call("GET", "/v1/contacts", context, route="/v1/contacts", query={"connection": "rotated"})

    assert response["statusCode"] == 502
    assert body_of(response)["title"] == "Watbot refused our credentials"
    assert "old-token" not in response["body"]


def test_unknown_connection_is_a_422_naming_the_secret(watbot, context) -> None:
    response = call("GET", "/v1/contacts", context, route="/v1/contacts", query={"connection": "staging"})

    assert response["statusCode"] == 422
    assert body_of(response)["errors"][0]["message"] == "create the secret chatbridge/watbot/staging first"
    assert watbot.requests == []


def test_base_url_defaults_to_watbot_ru(aws, context) -> None:
    fakes = ProviderFakes()
    fake = SimulatorFake(WatbotSimulator({"prod-token"}, rate_limit=None))
    fakes.add("watbot.ru", fake)
    from chatbridge.integrations.http import http_pool

    http_pool.reset(fakes.transport())
    boto3.client("secretsmanager").create_secret(
        Name="chatbridge/watbot/prod", SecretString='{"api_token": "prod-token"}'
    )

    response = call("GET", "/v1/contacts", context, route="/v1/contacts", query={"connection": "prod"})

    assert response["statusCode"] == 200
    assert str(fake.requests[0].url).startswith("https://watbot.ru/api/v1/getContacts?")


def test_contacts_store_nothing(contact_id, context) -> None:
    call("PUT", tag_path(contact_id, "vip"), context, route="/v1/contacts/{id}/tags/{tag}")
    call(
        "PUT", variable_path(contact_id, "a"), context, route="/v1/contacts/{id}/variables/{name}", body={"value": "1"}
    )

    assert table_items() == []


def test_the_token_never_reaches_logs(watbot, contact_id, context, capsys) -> None:
    call("GET", "/v1/contacts", context, route="/v1/contacts")
    watbot.script = [401]
    call("GET", "/v1/contacts", context, route="/v1/contacts")

    logged = capsys.readouterr()
    assert TOKEN not in logged.out + logged.err
