"""The Gateway: routing, the Lambda authorizer (with its cache), invocation and the translation of
a function's result into an HTTP response, all as API Gateway does them, without sockets."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from local.dev_server.events import RequestParts, authorizer_event, http_event, request_context, utc_now
from local.dev_server.messages import HttpRequest, HttpResponse, gateway_answer
from local.dev_server.routes import RouteTable
from local.lambda_runtime import (
    DEFAULT_REGION,
    Handler,
    check_unique_modules,
    ensure_import_paths,
    invoke,
    lambda_context_for,
    load_handler,
)
from local.retention import RECENT
from local.template import FunctionInfo, HttpRoute, authorizer_function, authorizer_ttl_seconds, functions, http_routes

log = logging.getLogger(__name__)

IDENTITY_HEADER = "x-api-key"
HOP_BY_HOP = frozenset({"connection", "content-length", "transfer-encoding", "keep-alive"})


class BadLambdaResponseError(Exception):
    """The function returned something API Gateway would answer 500 to."""


def response_from_result(result: Any) -> HttpResponse:
    """Translate a payload-2.0 Lambda result the way API Gateway does."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # Without statusCode API Gateway infers 200 and sends the result as JSON.
        body = result if isinstance(result, str) else json.dumps(result)
        return HttpResponse(200, [("Content-Type", "application/json")], body.encode("utf-8"))
    try:
        status = int(result["statusCode"])
        headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers.extend((str(name), str(v)) for v in values)
        headers.extend(("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or [])
        body = result.get("body") or ""
        raw = base64.b64decode(body, validate=True) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    except (TypeError, ValueError, AttributeError, binascii.Error) as exc:
        raise BadLambdaResponseError(f"unreadable Lambda response: {exc}") from exc
    if not 100 <= status <= 599:
        raise BadLambdaResponseError(f"statusCode {status} is not an HTTP status")
    return HttpResponse(status, [h for h in headers if h[0].lower() not in HOP_BY_HOP], raw)


@dataclass(frozen=True)
class _Authorization:
    allowed: bool
    context: dict[str, Any]


class Gateway:
    """Routing, authorization and invocation, independent of sockets (DevServer adds HTTP)."""

    def __init__(
        self,
        *,
        authorizer_ttl: int | None = None,
        region: str | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._routes = http_routes()
        self._table = RouteTable(self._routes)
        self._functions = functions()
        self._authorizer = authorizer_function()
        self._ttl = authorizer_ttl_seconds() if authorizer_ttl is None else authorizer_ttl
        self._region = region or os.environ.get("AWS_DEFAULT_REGION", DEFAULT_REGION)
        self._clock = clock  # requestContext.time; the authorizer cache runs on the monotonic clock
        self._handlers: dict[str, Handler] = {}
        self._cache: dict[str, tuple[float, _Authorization]] = {}
        self._cache_lock = threading.Lock()

    @property
    def routes(self) -> list[HttpRoute]:
        return list(self._routes)

    def load(self) -> None:
        """Import every handler now, so a broken module fails start() rather than a request."""
        needed = [self._authorizer, *(self._functions[r.function] for r in self._routes)]
        check_unique_modules(needed)
        ensure_import_paths(info.code_uri for info in needed)
        for info in needed:
            if info.name not in self._handlers:
                self._handlers[info.name] = load_handler(info)

    def clear_authorizer_cache(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        response = self._handle(request, request_id)
        response.headers.append(("apigw-requestid", request_id))
        return response

    def _handle(self, request: HttpRequest, request_id: str) -> HttpResponse:
        parts = RequestParts.of(request)
        matched = self._table.match(request.method, parts.raw_path)
        if matched is None:
            return gateway_answer(404, "Not Found")
        route, path_parameters = matched
        context = request_context(request, parts, route.route_key, request_id, self._clock())
        authorizer: dict[str, Any] | None = None
        if not route.public:
            identity = parts.headers.get(IDENTITY_HEADER, "")
            if not identity:
                return gateway_answer(401, "Unauthorized")
            try:
                authorization = self._authorize(parts, route, path_parameters, context, identity)
            except Exception:
                log.error("authorizer failed:\n%s", traceback.format_exc())
                return gateway_answer(500, "Internal Server Error")
            if not authorization.allowed:
                return gateway_answer(403, "Forbidden")
            authorizer = authorization.context
        event = http_event(parts, route.route_key, path_parameters, context, authorizer)
        try:
            return response_from_result(self._invoke(self._functions[route.function], event))
        except Exception:
            log.error("%s failed:\n%s", route.function, traceback.format_exc())
            # an HTTP API answers 500 to a failed or unreadable Lambda answer (a REST API would say 502)
            return gateway_answer(500, "Internal Server Error")

    def _authorize(
        self,
        parts: RequestParts,
        route: HttpRoute,
        path_parameters: dict[str, str],
        context: dict[str, Any],
        identity: str,
    ) -> _Authorization:
        cached = self._cached(identity)
        if cached is not None:
            return cached
        event = authorizer_event(parts, route.route_key, path_parameters, context, identity, self._region)
        result = self._invoke(self._authorizer, event)
        allowed = result.get("isAuthorized") if isinstance(result, dict) else None
        if not isinstance(allowed, bool):
            raise BadLambdaResponseError("a simple-response authorizer must return {'isAuthorized': bool}")
        authorization = _Authorization(allowed, dict(result.get("context") or {}))
        if self._ttl > 0:
            with self._cache_lock:
                now = time.monotonic()
                if len(self._cache) >= RECENT:  # identities seen once (a fuzzer's keys) expire, then go
                    self._cache = {key: entry for key, entry in self._cache.items() if entry[0] > now}
                self._cache[identity] = (now + self._ttl, authorization)
        return authorization

    def _cached(self, identity: str) -> _Authorization | None:
        with self._cache_lock:
            entry = self._cache.get(identity)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    def _invoke(self, function: FunctionInfo, event: dict[str, Any]) -> Any:
        handler = self._handlers.get(function.name)
        if handler is None:
            raise RuntimeError("Gateway.load() was not called")
        return invoke(handler, event, partial(lambda_context_for, function, self._region))
