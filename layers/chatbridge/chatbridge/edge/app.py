"""Builds the Powertools resolver every function uses, and the Lambda entry point around it.

Handlers stay thin: they pick routers and call `lambda_handler_for`. Here, once for every route:
the event is checked and normalised, unauthenticated callers and oversized bodies are refused
before any routing, bodies are read by the edge's strict rules (`chatbridge.edge.body`), and every
exception becomes a problem (`chatbridge.edge.problems`). Whatever the event, the entry point
answers; it never raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from chatbridge import access
from chatbridge.edge import body, event, paths, problems, serializer
from chatbridge.errors import ChatbridgeError, PayloadTooLargeError, UnauthorizedError
from chatbridge.invocation import current_lambda_context
from chatbridge.observability import logger, metrics, traced

API_KEY_HEADER = "x-api-key"

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


class _EdgeBodyValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, reading bodies by the edge's rules.

    Powertools parses the body itself (`json_body`: lenient JSON, no depth or number limits, and
    only some media types). Its validation middleware runs before any user middleware, so the body
    it validates is replaced where it is read.
    """

    def _get_body(self, app: Any) -> Any:
        return body.json_body(app.current_event.raw_event)


def build_app(routers: Iterable[APIGatewayHttpRouter], provider_tags: Iterable[str] = ()) -> APIGatewayHttpResolver:
    # UTF-8 JSON answers: characters as themselves, not \u escapes (chatbridge.edge.serializer)
    app = APIGatewayHttpResolver(enable_validation=True, serializer=serializer.json_text)
    if not isinstance(getattr(app, "_request_validation_middleware", None), OpenAPIRequestValidationMiddleware):
        raise RuntimeError("Powertools no longer keeps its request validation where the edge replaces it.")
    app._request_validation_middleware = _EdgeBodyValidation()  # type: ignore[no-untyped-call]
    for router in routers:
        app.include_router(router)
    tags = tuple(provider_tags)

    # One handler for every exception (Powertools' NotFoundError for unknown routes included).
    @app.exception_handler(Exception)
    def _problem(exc: Exception):  # type: ignore[no-untyped-def]
        request = app.current_event
        return problems.problem_for(exc, tags, method=request.http_method, path=request.raw_path)

    return app


def caller_of(event: Mapping[str, Any]) -> dict[str, Any]:
    """The authorizer's context: `{"authenticated": bool, "key_id": ..., "key_name": ...}`."""
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, Mapping) else None
    lambda_context = authorizer.get("lambda") if isinstance(authorizer, Mapping) else None
    return dict(lambda_context) if isinstance(lambda_context, Mapping) else {}


def _gatekeeper(request: dict[str, Any]) -> ChatbridgeError | None:
    method, path = request["requestContext"]["http"]["method"], request["rawPath"]
    # API Gateway found no route for the request: the catch-all runs nothing, so it needs no key
    caught_all = request.get("routeKey") == paths.CATCH_ALL_ROUTE
    if not (caught_all or paths.is_public(method, path)):
        caller = caller_of(request)
        if caller.get("authenticated") is not True:
            return UnauthorizedError(
                f"Send a valid API key in the `{API_KEY_HEADER}` header.",
            )
        if access.route_of(request) is None:
            return paths.route_not_found(method, path)
        # the route's scope and the key's expiry (chatbridge.access declares every route's scope)
        refused = access.refusal(request)
        if refused is not None:
            return refused
    size = body.body_size(request)
    if size > body.MAX_BODY_BYTES:
        return PayloadTooLargeError(f"The body is {size} bytes; the limit is {body.MAX_BODY_BYTES} bytes.")
    return paths.route_not_found(method, path) if caught_all else None


def lambda_handler_for(app: APIGatewayHttpResolver) -> LambdaHandler:
    def answer(raw_event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        request = event.well_formed(raw_event)
        # Refused requests never reach routing or body parsing: a caller without a key learns
        # nothing about the shape a route expects.
        refusal = _gatekeeper(request)
        if refusal is not None:
            return problems.lambda_response(problems.from_chatbridge_error(refusal))
        token = current_lambda_context.set(context)
        try:
            return app.resolve(request, context)
        finally:
            current_lambda_context.reset(token)

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @traced
    @metrics.log_metrics
    def handler(raw_event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        try:
            return answer(raw_event, context)
        except ChatbridgeError as exc:
            return problems.lambda_response(problems.from_chatbridge_error(exc))
        except Exception as exc:  # the resolver maps every exception; this is for failures around it
            return problems.lambda_response(problems.from_unexpected_error(exc))

    return handler
