"""The OpenAPI document describes every messaging and contacts route, each provider variant with an example."""

from __future__ import annotations

import pytest

import meta_handler
from tests.support import api_event, body_of

VARIANTS = {
    "/v1/messages": {"biway", "watbot"},
    "/v1/broadcasts": {"biway"},
    "/v1/conversations": {"biway", "imbee"},
    "/v1/chat-tokens": {"biway", "imbee"},
    "/v1/templates": {"biway"},
    "/v1/agents": {"biway"},
}


@pytest.fixture(scope="module")
def document() -> dict:
    from tests.support import FakeLambdaContext

    response = meta_handler.lambda_handler(api_event("GET", "/v1/openapi.json", authorizer=None), FakeLambdaContext())
    loaded: dict = body_of(response)
    return loaded


def schema(document: dict, ref: str) -> dict:
    found: dict = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return found


@pytest.mark.parametrize("path", sorted(VARIANTS))
def test_each_post_documents_its_provider_variants_with_examples(document: dict, path: str) -> None:
    post = document["paths"][path]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    refs = [v["$ref"] for v in body["oneOf"]] if "oneOf" in body else [body["$ref"]]
    variants = [schema(document, ref) for ref in refs]

    assert {v["properties"]["provider"]["const"] for v in variants} == VARIANTS[path]
    assert all(v.get("examples") for v in variants)
    if len(refs) > 1:
        assert body["discriminator"]["propertyName"] == "provider"
    assert {"201", "400", "401", "422", "429", "502", "504"} <= set(post["responses"])
    assert "application/problem+json" in post["responses"]["422"]["content"]
    assert any(p["name"] == "idempotency-key" for p in post["parameters"])


def test_contacts_routes_are_documented(document: dict) -> None:
    paths = document["paths"]

    assert set(paths["/v1/contacts/{id}/tags/{tag}"]) == {"put", "delete"}
    assert set(paths["/v1/contacts/{id}/variables/{name}"]) == {"put", "delete"}
    assert "204" in paths["/v1/contacts/{id}/variables/{name}"]["delete"]["responses"]
    assert {p["name"] for p in paths["/v1/contacts"]["get"]["parameters"]} >= {
        "connection",
        "count",
        "page",
        "date_from",
        "date_to",
        "bot_id",
    }
    assert (
        "recipient_statuses"
        in schema(
            document,
            paths["/v1/messages/{id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        )["properties"]
    )
