"""Health, the OpenAPI document and Swagger UI."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, Server

from chatbridge.models.common import Health
from chatbridge.settings import get_settings

API_TITLE = "Chatbridge API"
API_VERSION = "1.0.0"
API_DESCRIPTION = (
    "One API for SmartRegion, Smartico, Imbee, Bi-way and Watbot. Send your API key in `x-api-key`. "
    "Errors are RFC 9457 `application/problem+json`."
)
SECURITY_SCHEMES: dict[str, Any] = {"apiKey": APIKey(name="x-api-key", in_=APIKeyIn.header)}


def openapi_document(app: APIGatewayHttpResolver) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title=API_TITLE,
            version=API_VERSION,
            description=API_DESCRIPTION,
            servers=[Server(url="/")],
            security_schemes=SECURITY_SCHEMES,
            security=[{"apiKey": []}],
        )
    )
    for path, operations in schema.get("paths", {}).items():
        if path.startswith(("/v1/health", "/v1/openapi.json", "/v1/docs", "/v1/callbacks/")):
            for operation in operations.values():
                operation["security"] = []
    return schema


def install(app: APIGatewayHttpResolver) -> None:
    @app.get("/v1/health", summary="Liveness", tags=["meta"], security=[])
    def health() -> Health:
        return Health(service=get_settings().service_name, version=API_VERSION)

    @app.get(
        "/v1/openapi.json",
        summary="OpenAPI 3 document of every route",
        tags=["meta"],
        responses={200: {"description": "OpenAPI 3 document", "content": {"application/json": {"schema": {}}}}},
    )
    def openapi() -> Response[str]:
        return Response(200, "application/json", json.dumps(openapi_document(app)))

    app.enable_swagger(
        path="/v1/docs",
        title=API_TITLE,
        version=API_VERSION,
        description=API_DESCRIPTION,
        security_schemes=SECURITY_SCHEMES,
        security=[{"apiKey": []}],
    )
