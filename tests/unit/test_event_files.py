"""Every events/ file, invoked as `sam local invoke -e` would, against a mocked account.

Each API folder of events/ has an `_expected.json`: the function the files are for and, in
invocation order, the status each file must give (a later file may read what an earlier created).
A queue-fed function's manifest gives its whole answer instead (its `batchItemFailures`).
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from chatbridge.logic.api_keys import issue_api_key
from local.template import functions, http_routes
from tests.support import EVENTS_DIR, body_of, load_event

MANIFESTS = sorted(EVENTS_DIR.glob("*/_expected.json"))
# Not API Gateway events: each has its own test (test_auth, test_events_processor).
NON_API_EVENTS = {"authorizer/request.json", "events_processor/new_event.json"}


def manifest(path: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def handler_of(function_name: str):  # type: ignore[no-untyped-def]
    info = functions()[function_name]
    return getattr(importlib.import_module(info.module), info.attribute)


def listed_files() -> set[str]:
    return {f"{m.parent.name}/{name}" for m in MANIFESTS for name, _ in manifest(m)["invocations"]}


def test_every_event_file_is_expected_and_every_route_has_one() -> None:
    on_disk = {str(p.relative_to(EVENTS_DIR)) for p in EVENTS_DIR.rglob("*.json") if not p.name.startswith("_")}
    assert on_disk == listed_files() | NON_API_EVENTS
    covered = {load_event(name).get("routeKey") for name in listed_files()}
    assert {route.route_key for route in http_routes()} <= covered


@pytest.mark.parametrize("manifest_path", MANIFESTS, ids=lambda p: p.parent.name)
def test_api_event_files_give_their_expected_status(providers, context, manifest_path) -> None:  # type: ignore[no-untyped-def]
    expected = manifest(manifest_path)
    handler = handler_of(expected["function"])
    for name, status in expected["invocations"]:
        response = handler(load_event(f"{manifest_path.parent.name}/{name}"), context)
        if isinstance(status, dict):
            assert response == status, name
        else:
            assert response["statusCode"] == status, (name, response.get("body"))


@pytest.mark.parametrize("known_key", [True, False])
def test_authorizer_event_file(aws, context, known_key: bool) -> None:
    event = load_event("authorizer/request.json")
    if known_key:
        key = issue_api_key("events").key
        event["headers"]["x-api-key"] = key
        event["identitySource"] = [key]

    answer = handler_of("AuthorizerFunction")(event, context)

    assert answer["isAuthorized"] is True
    assert answer["context"]["authenticated"] is known_key


def test_openapi_event_lists_every_template_route(providers, context) -> None:
    document = body_of(handler_of("MetaFunction")(load_event("meta/openapi.json"), context))
    documented = {f"{method.upper()} {path}" for path, ops in document["paths"].items() for method in ops}
    assert {r.route_key for r in http_routes()} <= documented
