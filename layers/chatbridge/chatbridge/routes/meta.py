"""Health, the OpenAPI document and Swagger UI.

The OpenAPI machinery (Powertools' pydantic models of the spec, ~60 ms to import) loads only when
a document is asked for, so health checks and cold starts do not pay for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from chatbridge.edge.openapi import BODY_RULES, GATEWAY_ANSWERS, finish_document
from chatbridge.edge.paths import PUBLIC_ROUTES
from chatbridge.edge.serializer import json_text
from chatbridge.models.common import Health

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from chatbridge.access import ROUTE_SCOPES
from chatbridge.integrations import registry
from chatbridge.settings import get_settings

API_TITLE = "Chatbridge API"
API_VERSION = "1.0.0"
API_DESCRIPTION = (
    f"One API for {registry.titles()}. Send your API key in `x-api-key`. "
    "Errors are RFC 9457 `application/problem+json`. Each route needs a scope of the key "
    "(`x-required-scope`); `/v1/api-keys` manages keys with the `admin` scope.\n\n"
    + BODY_RULES
    + "\n\nA method and path no route serves is a 404 problem naming the methods the path has. API Gateway "
    'answers some requests itself, as `application/json` `{"message": ...}` (schema `GatewayMessage`), '
    "never problem+json: "
    + "; ".join(f"{status} `{message}` when {when}" for status, (message, when) in GATEWAY_ANSWERS.items())
    + "."
)
HTML_RESPONSE: dict[int, OpenAPIResponse] = {
    200: {
        "description": "HTML page (with `?format=json`: the OpenAPI document, as /v1/openapi.json answers it)",
        "content": {
            "text/html": {"schema": {"type": "string", "examples": ["<!DOCTYPE html><html>...</html>"]}},
            "application/json": {"schema": {"type": "object", "examples": [{"openapi": "3.1.0"}]}},
        },
    }
}
JSON_RESPONSE: dict[int, OpenAPIResponse] = {
    200: {
        "description": "OpenAPI 3 document",
        "content": {"application/json": {"schema": {"type": "object", "examples": [{"openapi": "3.1.0"}]}}},
    }
}


def openapi_document(app: APIGatewayHttpResolver) -> dict[str, Any]:
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, Server

    schema: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title=API_TITLE,
            version=API_VERSION,
            description=API_DESCRIPTION,
            servers=[Server(url="/")],
            security_schemes={"apiKey": APIKey(name="x-api-key", in_=APIKeyIn.header)},
            security=[{"apiKey": []}],
        )
    )
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            route = f"{method.upper()} {path}"
            if route in PUBLIC_ROUTES:
                operation["security"] = []
            else:
                _document_scope(operation, ROUTE_SCOPES.get(route))
    finish_document(schema)
    return schema


def _document_scope(operation: dict[str, Any], scope: str | None) -> None:
    """The scope a route needs (chatbridge.access.ROUTE_SCOPES), and the 403 without it."""
    if scope is None:
        return
    # OpenAPI 3.1 lets a non-OAuth scheme list the roles an operation requires
    operation["security"] = [{"apiKey": [scope]}]
    operation["x-required-scope"] = scope
    note = f"Needs an API key with the scope `{scope}`."
    operation["description"] = f"{operation['description']}\n\n{note}" if operation.get("description") else note
    operation.setdefault("responses", {})["403"] = {
        "description": 'Unknown, revoked or expired key (API Gateway\'s own `{"message":"Forbidden"}`), '
        f"or a key without `{scope}` or outside its provider limits (problem+json naming the scope)",
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}},
            "application/json": {
                "schema": {"type": "object", "properties": {"message": {"type": "string", "const": "Forbidden"}}}
            },
        },
    }


def swagger_page(document: dict[str, Any]) -> str:
    from aws_lambda_powertools.event_handler.openapi import swagger_ui

    assets = Path(swagger_ui.__file__).parent
    # Inlined assets: the page works where the browser cannot reach a CDN.
    page = swagger_ui.generate_swagger_html(
        json_text(document).replace("</", "<\\/"),
        (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        "",
        None,
    )
    # The link under the title: Powertools points it at `<page>?format=json`, which its own docs
    # route serves; ours is the document's own route, next to the page (so a stage prefix is kept).
    if _POWERTOOLS_SPEC_LINK not in page:
        raise RuntimeError("Powertools' Swagger page no longer links the document where the edge replaces it.")
    return page.replace(_POWERTOOLS_SPEC_LINK, _SPEC_LINK)


_POWERTOOLS_SPEC_LINK = 'ui.specActions.updateUrl(currentUrl.pathname + "?format=json");'
_SPEC_LINK = 'ui.specActions.updateUrl(new URL("openapi.json", currentUrl).pathname);'


def install(app: APIGatewayHttpResolver, described: Callable[[], APIGatewayHttpResolver]) -> None:
    """Add the meta routes to `app`; `described()` gives the resolver holding every route."""

    @app.get("/v1/health", summary="Liveness", tags=["meta"])
    def health() -> Health:
        return Health(service=get_settings().service_name, version=API_VERSION)

    @app.get("/v1/openapi.json", summary="OpenAPI 3 document of every route", tags=["meta"], responses=JSON_RESPONSE)
    def openapi() -> Response[str]:
        return Response(200, "application/json", json_text(openapi_document(described())))

    @app.get("/v1/docs", summary="Swagger UI for the OpenAPI document", tags=["meta"], responses=HTML_RESPONSE)
    def docs() -> Response[str]:
        document = openapi_document(described())
        # `?format=json`, the address Powertools' pages link to, answers the document itself
        if app.current_event.get_query_string_value("format") == "json":
            return Response(200, "application/json", json_text(document))
        return Response(200, "text/html; charset=utf-8", swagger_page(document))
