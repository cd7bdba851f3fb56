"""Whatever a client sends to any route of template.yaml, the answer is never a 5xx."""

from __future__ import annotations

import json
import re

import pytest

from local.template import http_routes
from tests.support import api_event
from tests.unit.routes_support import handler_for

JUNK_BODIES = [
    None,
    "",
    "{",
    "null",
    "[]",
    "42",
    '"text"',
    "{}",
    json.dumps({"provider": None}),
    json.dumps({"provider": 7, "connection": {"x": 1}}),
    json.dumps({"provider": "smartregion", "connection": "../../x"}),
    json.dumps({"provider": "biway", "kind": "nope"}),
    json.dumps({"provider": "imbee", "registration_id": ["a"]}),
    json.dumps({"provider": "watbot", "contact_id": {"$ne": 1}}),
    json.dumps({"a" * 300: "b" * 10_000}),
    json.dumps({"nested": [[[[[[[[[[{}]]]]]]]]]]}),
    "\udcff".encode("utf-8", "surrogatepass").decode("latin-1"),
]
JUNK_QUERIES = [None, {"limit": "-1"}, {"limit": "abc"}, {"next_token": "%%%"}, {"provider": "x", "user_id": ""}]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "junk%20id", path)


ROUTES = [r for r in http_routes() if "callbacks" not in r.path]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.route_key)
def test_junk_bodies_and_queries_get_no_5xx(providers, context, route) -> None:  # type: ignore[no-untyped-def]
    handler = handler_for(route.function)
    for body in JUNK_BODIES if route.method in {"POST", "PUT"} else [None]:
        for query in JUNK_QUERIES:
            event = api_event(route.method, concrete(route.path), route=route.path, body=body, query=query)
            response = handler(event, context)
            assert response["statusCode"] < 500, (route.route_key, body, query, response.get("body"))
