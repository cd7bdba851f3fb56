"""Every events/ file, invoked as `sam local invoke -e` would, against a mocked account."""

from __future__ import annotations

import importlib

import pytest

from local.template import functions, http_routes
from tests.support import EVENTS_DIR, body_of, load_event

# events/<folder>/ -> function of template.yaml; expected status per file (run in this order).
FOLDERS = {"registrations": "RegistrationsFunction", "meta": "MetaFunction", "authorizer": "AuthorizerFunction"}
EXPECTED_STATUS = {
    "registrations/post_smartregion.json": 201,
    "registrations/post_smartregion_explicit_channel.json": 201,
    "registrations/get_by_id.json": 200,
    "registrations/find_by_user.json": 200,
    "registrations/post_malformed_json.json": 400,
    "registrations/post_unknown_provider.json": 422,
    "registrations/post_without_api_key.json": 401,
    "meta/health.json": 200,
    "meta/openapi.json": 200,
    "meta/docs.json": 200,
}


def handler_of(function_name: str):  # type: ignore[no-untyped-def]
    info = functions()[function_name]
    return getattr(importlib.import_module(info.module), info.attribute)


def test_every_event_file_is_expected_and_every_route_has_one() -> None:
    on_disk = {str(p.relative_to(EVENTS_DIR)) for p in EVENTS_DIR.rglob("*.json")}
    assert on_disk == set(EXPECTED_STATUS) | {"authorizer/request.json"}
    covered = {load_event(name)["routeKey"] for name in EXPECTED_STATUS}
    assert {route.route_key for route in http_routes()} <= covered


def test_api_event_files_give_their_expected_status(smartregion, context) -> None:
    for name, status in EXPECTED_STATUS.items():
        folder = name.split("/")[0]
        response = handler_of(FOLDERS[folder])(load_event(name), context)
        assert response["statusCode"] == status, (name, response.get("body"))
        assert response["statusCode"] < 500


@pytest.mark.parametrize("known_key", [True, False])
def test_authorizer_event_file(aws, context, known_key: bool) -> None:
    from chatbridge.logic.api_keys import issue_api_key

    event = load_event("authorizer/request.json")
    if known_key:
        key = issue_api_key("events").key
        event["headers"]["x-api-key"] = key
        event["identitySource"] = [key]

    answer = handler_of("AuthorizerFunction")(event, context)

    assert answer["isAuthorized"] is True
    assert answer["context"]["authenticated"] is known_key


def test_openapi_event_lists_every_template_route(smartregion, context) -> None:
    document = body_of(handler_of("MetaFunction")(load_event("meta/openapi.json"), context))
    documented = {f"{method.upper()} {path}" for path, ops in document["paths"].items() for method in ops}
    assert {r.route_key for r in http_routes()} <= documented
