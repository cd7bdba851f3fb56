"""Every HTTP route of template.yaml, ready to invoke in-process: a new route is covered automatically."""

from __future__ import annotations

import importlib
import re
from functools import cache
from typing import Any

from local.template import HttpRoute, functions, http_routes
from tests.support import API_KEY_CONTEXT, api_event
from tests.unit.conftest import CALLBACK_TOKENS

ROUTES = http_routes()
# Path parameters that get a request past routing and authentication (a webhook needs its token).
PATH_VALUES = {"provider": "biway", "token": CALLBACK_TOKENS["biway"], "id": "1", "tag": "vip", "name": "var"}


def handler_for(function_name: str):  # type: ignore[no-untyped-def]
    info = functions()[function_name]
    return getattr(importlib.import_module(info.module), info.attribute)


# The catch-all route (`$default`) has no path: any method and path no other route serves reach it.
CATCH_ALL_REQUEST = ("POST", "/v1/no-such-route/x1")


def concrete_method(route: HttpRoute) -> str:
    return CATCH_ALL_REQUEST[0] if route.is_catch_all else route.method


def concrete_path(route: HttpRoute) -> str:
    if route.is_catch_all:
        return CATCH_ALL_REQUEST[1]
    return re.sub(r"\{([^}]+)\}", lambda m: PATH_VALUES.get(m.group(1), "x1"), route.path)


@cache
def _operations() -> dict[str, dict[str, Any]]:
    import meta_handler
    from chatbridge.routes.meta import openapi_document

    document = openapi_document(meta_handler.every_route())
    return {
        f"{method.upper()} {path}": operation
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }


def reads_body(route: HttpRoute) -> bool:
    """Whether the route takes a request body, as its OpenAPI operation says."""
    return not route.is_catch_all and "requestBody" in _operations()[route.route_key]


def is_webhook(route: HttpRoute) -> bool:
    return route.public and route.method == "POST" and not route.is_catch_all


def event_for(route: HttpRoute, **kwargs: Any) -> dict[str, Any]:
    """An API Gateway event for `route` with a valid API key, or none for a public route."""
    authorizer = None if route.public else API_KEY_CONTEXT
    event = api_event(concrete_method(route), concrete_path(route), route=route.path, authorizer=authorizer, **kwargs)
    if route.is_catch_all:
        event["routeKey"] = event["requestContext"]["routeKey"] = route.route_key
    if route.public:
        event["headers"].pop("x-api-key")
    return event
