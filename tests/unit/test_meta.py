"""Health, OpenAPI and Swagger UI."""

from __future__ import annotations

import meta_handler
from tests.support import api_event, body_of


def get(path: str, context):  # type: ignore[no-untyped-def]
    return meta_handler.lambda_handler(api_event("GET", path, authorizer=None), context)


def test_health(context) -> None:
    assert body_of(get("/v1/health", context)) == {"status": "ok", "service": "chatbridge", "version": "1.0.0"}


def test_openapi_documents_the_registration_variants_and_problems(context) -> None:
    document = body_of(get("/v1/openapi.json", context))

    post = document["paths"]["/v1/registrations"]["post"]
    schema_ref = post["requestBody"]["content"]["application/json"]["schema"]["oneOf"][0]["$ref"]
    variant = document["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert variant["properties"]["provider"]["const"] == "smartregion"
    assert set(variant["required"]) == {"provider", "user_id", "payload"}
    assert variant.get("examples")
    assert {"201", "200", "400", "401", "409", "413", "422", "502", "504"} <= set(post["responses"])
    assert "application/problem+json" in post["responses"]["422"]["content"]
    assert any(p["name"] == "idempotency-key" for p in post["parameters"])
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "apiKey",
        "name": "x-api-key",
        "in": "header",
    }
    assert document["paths"]["/v1/health"]["get"]["security"] == []


def test_swagger_ui_is_html(context) -> None:
    response = get("/v1/docs", context)

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("text/html")
    assert "swagger" in response["body"].lower()
