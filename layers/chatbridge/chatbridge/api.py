"""Builds the Powertools resolver every function uses, and the Lambda entry point around it.

Handlers stay thin: they pick routers and call `lambda_handler_for`; authentication, size limits,
correlation ids, tracing, metrics and the exception-to-problem mapping all live here.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from chatbridge import access, problems
from chatbridge.errors import ChatbridgeError, PayloadTooLargeError, UnauthorizedError
from chatbridge.invocation import current_lambda_context
from chatbridge.observability import logger, metrics, traced

MAX_BODY_BYTES = 256 * 1024
# Routes the authorizer does not guard (template.yaml marks them `Authorizer: NONE`).
PUBLIC_PATH_PREFIXES = ("/v1/health", "/v1/openapi.json", "/v1/docs", "/v1/callbacks/")
API_KEY_HEADER = "x-api-key"

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def build_app(routers: Iterable[APIGatewayHttpRouter], provider_tags: Iterable[str] = ()) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    for router in routers:
        app.include_router(router)
    tags = set(provider_tags)

    @app.exception_handler(RequestValidationError)
    def _validation(exc: RequestValidationError):  # type: ignore[no-untyped-def]
        return problems.from_validation_error(exc, tags)

    @app.exception_handler(ChatbridgeError)
    def _known(exc: ChatbridgeError):  # type: ignore[no-untyped-def]
        return problems.from_chatbridge_error(exc)

    @app.not_found
    def _not_found(exc: Exception):  # type: ignore[no-untyped-def]
        path = app.current_event.raw_event.get("rawPath", "")
        return problems.problem_response(404, "not-found", "Route not found", f"No route matches {path}.")

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        return problems.from_unexpected_error(exc)

    return app


def caller_of(event: dict[str, Any]) -> dict[str, Any]:
    """The authorizer's context: `{"authenticated": bool, "key_id": ..., "key_name": ...}`."""
    context = (event.get("requestContext") or {}).get("authorizer") or {}
    lambda_context = context.get("lambda") if isinstance(context, dict) else None
    return lambda_context if isinstance(lambda_context, dict) else {}


def _body_size(event: dict[str, Any]) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(base64.b64decode(body, validate=False))
    return len(body.encode("utf-8"))


def _gatekeeper(event: dict[str, Any]) -> ChatbridgeError | None:
    path = event.get("rawPath") or ""
    if not path.startswith(PUBLIC_PATH_PREFIXES):
        caller = caller_of(event)
        if caller.get("authenticated") is not True:
            return UnauthorizedError(
                f"Send a valid API key in the `{API_KEY_HEADER}` header.",
            )
        # the route's scope and the key's expiry (chatbridge.access declares every route's scope)
        refused = access.refusal(event)
        if refused is not None:
            return refused
    size = _body_size(event)
    if size > MAX_BODY_BYTES:
        return PayloadTooLargeError(f"The body is {size} bytes; the limit is {MAX_BODY_BYTES} bytes.")
    return None


def lambda_handler_for(app: APIGatewayHttpResolver) -> LambdaHandler:
    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @traced
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        # Refused requests never reach routing or body parsing: a caller without a key learns
        # nothing about the shape a route expects.
        refusal = _gatekeeper(event)
        if refusal is not None:
            response = problems.from_chatbridge_error(refusal)
            return {
                "statusCode": response.status_code,
                "headers": {"Content-Type": problems.PROBLEM_CONTENT_TYPE},
                "body": response.body,
                "isBase64Encoded": False,
            }
        token = current_lambda_context.set(context)
        try:
            return app.resolve(event, context)
        finally:
            current_lambda_context.reset(token)

    return handler
