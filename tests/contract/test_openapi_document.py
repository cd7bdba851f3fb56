"""The OpenAPI document, walked: every route of template.yaml, every status it answers with a schema
and an example of that status, request examples for every body variant, and every example valid
against its schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from chatbridge.edge.openapi import GATEWAY_ANSWERS, PROBLEM_EXAMPLES
from chatbridge.edge.paths import CATCH_ALL_ROUTE, PUBLIC_ROUTES
from local.template import http_routes
from tests.support import FakeLambdaContext, api_event, body_of

PROBLEM = "application/problem+json"


@cache
def document() -> dict[str, Any]:
    import meta_handler
    from chatbridge.routes.meta import openapi_document

    built: dict[str, Any] = openapi_document(meta_handler.every_route())
    return built


def operations() -> Iterator[tuple[str, dict[str, Any]]]:
    for path, methods in document()["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def media_types() -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    for route, operation in operations():
        for status, response in operation["responses"].items():
            for media, content in response.get("content", {}).items():
                yield route, status, media, content


def examples_of(content: dict[str, Any]) -> list[Any]:
    if "examples" in content:
        return [example["value"] for example in content["examples"].values()]
    return [content["example"]] if "example" in content else []


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    # the document's components at the root, so `#/components/schemas/...` resolves
    return Draft202012Validator({**schema, "components": document()["components"]})


def errors_of(value: Any, schema: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(schema).iter_errors(value)]


def test_every_template_route_is_an_operation_of_the_document() -> None:
    documented = {route for route, _ in operations()}
    assert {r.route_key for r in http_routes()} - {CATCH_ALL_ROUTE} == documented


def test_every_answer_but_204_has_a_schema_and_an_example_for_each_media_type() -> None:
    missing = []
    for route, operation in operations():
        for status, response in operation["responses"].items():
            if status == "204":
                assert "content" not in response, f"{route} {status}: a 204 has no content"
                continue
            if not response.get("content"):
                missing.append(f"{route} {status}: no content")
            for media, content in response.get("content", {}).items():
                if "schema" not in content or not examples_of(content):
                    missing.append(f"{route} {status} {media}")
    assert missing == []


def test_every_example_validates_against_its_schema() -> None:
    failures = []
    for route, status, media, content in media_types():
        for example in examples_of(content):
            failures += [f"{route} {status} {media}: {e}" for e in errors_of(example, content["schema"])]
    for route, operation in operations():
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        for example in examples_of(body or {}):
            failures += [f"{route} request: {e}" for e in errors_of(example, body["schema"])]  # type: ignore[index]
    assert failures == []


def test_each_error_status_shows_a_problem_of_that_status() -> None:
    for route, status, media, content in media_types():
        if int(status) >= 400 and media == PROBLEM:
            (example,) = examples_of(content)
            assert example["status"] == int(status), (route, status)
            assert example == PROBLEM_EXAMPLES[int(status)]
    shown = {json.dumps(examples_of(c)) for _, s, m, c in media_types() if m == PROBLEM}
    assert len(shown) == len({s for _, s, m, _ in media_types() if m == PROBLEM}), "one example per status"


def test_every_422_is_a_problem_and_powertools_schema_is_gone() -> None:
    for route, operation in operations():
        answer = operation["responses"].get("422")
        if answer is not None:
            assert set(answer["content"]) == {PROBLEM}, route
    assert "HTTPValidationError" not in json.dumps(document())


def test_api_gateways_own_answers_are_documented_with_their_shape() -> None:
    gateway = document()["components"]["schemas"]["GatewayMessage"]
    assert gateway["required"] == ["message"]
    for route, operation in operations():
        guarded = route not in PUBLIC_ROUTES
        for status, (message, _) in GATEWAY_ANSWERS.items():
            expected = guarded or status not in (401, 403)
            content = operation["responses"].get(str(status), {}).get("content", {}).get("application/json")
            assert (content is not None) is expected, (route, status)
            if content is not None:
                assert examples_of(content) == [{"message": message}], (route, status)
                assert content["schema"] == {"$ref": "#/components/schemas/GatewayMessage"}


def leaf_variants(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The variants of a body, nested unions (Bi-way's account or tester registration) flattened."""
    ref = schema.get("$ref", "")
    resolved = document()["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {}) if ref else schema
    nested = resolved.get("oneOf")
    if not nested:
        return [schema]
    return [leaf for variant in nested for leaf in leaf_variants(variant)]


def test_every_body_variant_has_its_own_selectable_example() -> None:
    for route, operation in operations():
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        variants = leaf_variants((body or {}).get("schema", {}))
        if len(variants) < 2 or route.startswith("POST /v1/callbacks/"):
            continue
        examples = examples_of(body)  # type: ignore[arg-type]
        assert len(examples) == len(variants), route
        for variant in variants:
            matching = [e for e in examples if not errors_of(e, variant)]
            assert len(matching) == 1, (route, variant)


def test_the_events_listing_documents_its_200_and_headers_are_plain_strings() -> None:
    events = document()["paths"]["/v1/events"]["get"]["responses"]["200"]["content"]["application/json"]
    assert events["schema"] == {"$ref": "#/components/schemas/EventPage"}
    for route, operation in operations():
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "header":
                assert parameter["schema"]["type"] == "string" and "anyOf" not in parameter["schema"], route
                assert parameter["required"] is False


def test_the_swagger_page_links_the_document_and_format_json_answers_it() -> None:
    import meta_handler

    context = FakeLambdaContext()
    page = meta_handler.lambda_handler(api_event("GET", "/v1/docs", authorizer=None), context)
    as_json = meta_handler.lambda_handler(
        api_event("GET", "/v1/docs", query={"format": "json"}, authorizer=None), context
    )

    assert page["statusCode"] == 200 and page["headers"]["Content-Type"].startswith("text/html")
    assert 'updateUrl(new URL("openapi.json", currentUrl).pathname)' in page["body"]
    assert 'pathname + "?format=json"' not in page["body"]
    assert as_json["statusCode"] == 200 and as_json["headers"]["Content-Type"] == "application/json"
    assert body_of(as_json)["openapi"].startswith("3.")


@pytest.mark.parametrize("status", sorted(PROBLEM_EXAMPLES))
def test_the_problem_examples_are_problems_of_their_status(status: int) -> None:
    assert not errors_of(PROBLEM_EXAMPLES[status], {"$ref": "#/components/schemas/Problem"})
    assert PROBLEM_EXAMPLES[status]["status"] == status
