"""API Gateway (HttpApi, payload 2.0) emulation that runs the real handlers in-process.

Routes, the Lambda authorizer, its cache TTL, timeouts and memory sizes all come from template.yaml
(through local.template), so what is served here is what `sam deploy` would wire. The answers that
API Gateway itself produces are reproduced: 404 {"message":"Not Found"} for an unknown route,
401 {"message":"Unauthorized"} when the identity source (x-api-key) is missing, 403 {"message":
"Forbidden"} when the authorizer says no, 500 when the authorizer fails, 502 {"message":"Internal
Server Error"} when a function raises or returns something API Gateway cannot read.

The process environment (TABLE_NAME, AWS_ENDPOINT_URL_*, ...) must be set before start(): it
imports the handler modules, and they read it at import. `python -m local.dev` does all of that.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import importlib
import io
import json
import logging
import os
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote

from local.ports import LOOPBACK
from local.template import (
    ROOT,
    FunctionInfo,
    HttpRoute,
    authorizer_function,
    authorizer_ttl_seconds,
    functions,
    http_routes,
    load_template,
)

log = logging.getLogger(__name__)

LAYER_DIR = ROOT / "layers" / "chatbridge"
DEFAULT_PORT = 3000
ACCOUNT_ID = "123456789012"
API_ID = "local"
STAGE = "$default"
IDENTITY_HEADER = "x-api-key"
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # HttpApi's request payload quota
HOP_BY_HOP = frozenset({"connection", "content-length", "transfer-encoding", "keep-alive"})

# Powertools' resolvers keep the current event on a class attribute shared by every app in the
# process (BaseRouter.current_event), and all functions share one Logger and one Metrics. Lambda
# never runs two invocations in one execution environment; here every function shares one
# process, so invocations take turns or one request could read another's event (and its caller).
_INVOCATION_LOCK = threading.Lock()

Handler = Callable[[dict[str, Any], Any], Any]


# -- handlers ------------------------------------------------------------------------------------


def ensure_import_paths(code_dirs: Iterable[os.PathLike[str] | str]) -> None:
    """Put the layer and each function folder first on sys.path, as Lambda does with /opt/python and /var/task."""
    for directory in [LAYER_DIR, *code_dirs]:
        entry = str(directory)
        if entry not in sys.path:
            sys.path.insert(0, entry)


def load_handler(function: FunctionInfo) -> Handler:
    ensure_import_paths([function.code_uri])
    module = importlib.import_module(function.module)
    handler: Handler = getattr(module, function.attribute)
    return handler


def _check_unique_modules(infos: Iterable[FunctionInfo]) -> None:
    """Every function shares one sys.modules here, so two handler modules must not share a name."""
    seen: dict[str, FunctionInfo] = {}
    for info in infos:
        other = seen.setdefault(info.module, info)
        if other.code_uri != info.code_uri:
            raise RuntimeError(f"{other.name} and {info.name} both use a handler module named {info.module!r}")


def _function_setting(name: str, key: str, default: int) -> int:
    template = load_template()
    properties = template["Resources"][name].get("Properties", {})
    globals_ = (template.get("Globals") or {}).get("Function", {})
    return int(properties.get(key, globals_.get(key, default)))


@dataclass
class FakeLambdaContext:
    """What Powertools and the handlers read from the real LambdaContext."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    timeout_ms: int
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None
    started: float = field(default_factory=time.monotonic)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed_ms = int((time.monotonic() - self.started) * 1000)
        return max(0, self.timeout_ms - elapsed_ms)


def lambda_context_for(function: FunctionInfo, region: str) -> FakeLambdaContext:
    return FakeLambdaContext(
        function_name=function.name,
        memory_limit_in_mb=_function_setting(function.name, "MemorySize", 128),
        invoked_function_arn=f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function.name}",
        aws_request_id=str(uuid.uuid4()),
        timeout_ms=_function_setting(function.name, "Timeout", 3) * 1000,
    )


# -- HTTP messages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # path and query string exactly as received
    headers: list[tuple[str, str]]  # in arrival order, names as sent
    body: bytes
    source_ip: str = LOOPBACK
    protocol: str = "HTTP/1.1"
    host: str = LOOPBACK


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def gateway_answer(status: int, message: str) -> HttpResponse:
    """A response API Gateway produces itself, without reaching a function."""
    body = json.dumps({"message": message}, separators=(",", ":")).encode("utf-8")
    return HttpResponse(status, [("Content-Type", "application/json")], body)


class BadLambdaResponseError(Exception):
    """The function returned something API Gateway would answer 502 to."""


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


# -- routing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledRoute:
    route: HttpRoute
    pattern: re.Pattern[str]
    names: tuple[str, ...]
    greedy: bool

    def priority(self) -> tuple[bool, int, bool]:
        # API Gateway prefers literal paths, then fewer variables, greedy {proxy+} last, ANY last.
        return (self.greedy, len(self.names), self.route.method == "ANY")


def compile_route(route: HttpRoute) -> CompiledRoute:
    parts, names, greedy = [], [], False
    for segment in route.path.strip("/").split("/"):
        variable = re.fullmatch(r"\{([^{}]+?)(\+?)\}", segment)
        if variable is None:
            parts.append(re.escape(segment))
            continue
        names.append(variable.group(1))
        greedy = greedy or variable.group(2) == "+"
        parts.append("(.+)" if variable.group(2) else "([^/]+)")
    pattern = re.compile("^/" + "/".join(parts) + "$")
    return CompiledRoute(route, pattern, tuple(names), greedy)


class RouteTable:
    def __init__(self, routes: Iterable[HttpRoute]) -> None:
        self._routes = sorted((compile_route(r) for r in routes), key=CompiledRoute.priority)

    def match(self, method: str, raw_path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        for compiled in self._routes:
            if compiled.route.method not in (method, "ANY"):
                continue
            found = compiled.pattern.match(raw_path)
            if found is not None:
                values = (unquote(v) for v in found.groups())
                return compiled.route, dict(zip(compiled.names, values, strict=True))
        return None


# -- events --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestParts:
    """The request as API Gateway presents it in every payload-2.0 event."""

    raw_path: str
    raw_query: str
    headers: dict[str, str]
    cookies: list[str]
    query: dict[str, str]
    body: str | None
    is_base64: bool

    @classmethod
    def of(cls, request: HttpRequest) -> RequestParts:
        raw_path, _, raw_query = request.target.partition("?")
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for name, value in request.headers:
            key = name.lower()
            if key == "cookie":
                # Payload 2.0 moves cookies out of the headers into their own list.
                cookies.extend(c.strip() for c in value.split(";") if c.strip())
                continue
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        query: dict[str, str] = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        body, is_base64 = _event_body(request.body)
        return cls(raw_path or "/", raw_query, headers, cookies, query, body, is_base64)

    def common_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "rawPath": self.raw_path,
            "rawQueryString": self.raw_query,
            "headers": self.headers,
        }
        # API Gateway omits empty collections rather than sending them empty.
        if self.cookies:
            fields["cookies"] = self.cookies
        if self.query:
            fields["queryStringParameters"] = self.query
        return fields


def _event_body(body: bytes) -> tuple[str | None, bool]:
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def request_context(request: HttpRequest, parts: RequestParts, route_key: str, request_id: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    domain = parts.headers.get("host", request.host)
    return {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": parts.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": parts.headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": STAGE,
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }


def http_event(
    parts: RequestParts, route: HttpRoute, path_parameters: dict[str, str], context: dict[str, Any]
) -> dict[str, Any]:
    event: dict[str, Any] = {"version": "2.0", "routeKey": route.route_key, **parts.common_fields()}
    if path_parameters:
        event["pathParameters"] = path_parameters
    event["requestContext"] = context
    if parts.body is not None:
        event["body"] = parts.body
    event["isBase64Encoded"] = parts.is_base64
    return event


def authorizer_event(
    parts: RequestParts,
    route: HttpRoute,
    path_parameters: dict[str, str],
    context: dict[str, Any],
    identity: str,
    region: str,
) -> dict[str, Any]:
    method = context["http"]["method"]
    event: dict[str, Any] = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{API_ID}/{STAGE}/{method}{parts.raw_path}",
        "identitySource": [identity],
        "routeKey": route.route_key,
        **parts.common_fields(),
        "requestContext": context,
    }
    if path_parameters:
        event["pathParameters"] = path_parameters
    return event


# -- the gateway ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Authorization:
    allowed: bool
    context: dict[str, Any]


class Gateway:
    """Routing, authorization and invocation, independent of sockets (DevServer adds HTTP)."""

    def __init__(self, *, authorizer_ttl: int | None = None, region: str | None = None) -> None:
        self._routes = http_routes()
        self._table = RouteTable(self._routes)
        self._functions = functions()
        self._authorizer = authorizer_function()
        self._ttl = authorizer_ttl_seconds() if authorizer_ttl is None else authorizer_ttl
        self._region = region or os.environ.get("AWS_DEFAULT_REGION", "eu-west-1")
        self._handlers: dict[str, Handler] = {}
        self._cache: dict[str, tuple[float, _Authorization]] = {}
        self._cache_lock = threading.Lock()

    @property
    def routes(self) -> list[HttpRoute]:
        return list(self._routes)

    def load(self) -> None:
        """Import every handler now, so a broken module fails start() rather than a request."""
        needed = [self._authorizer, *(self._functions[r.function] for r in self._routes)]
        _check_unique_modules(needed)
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
        context = request_context(request, parts, route.route_key, request_id)
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
            context = {**context, "authorizer": {"lambda": authorization.context}}
        event = http_event(parts, route, path_parameters, context)
        try:
            return response_from_result(self._invoke(self._functions[route.function], event))
        except Exception:
            log.error("%s failed:\n%s", route.function, traceback.format_exc())
            return gateway_answer(502, "Internal Server Error")

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
        event = authorizer_event(parts, route, path_parameters, context, identity, self._region)
        result = self._invoke(self._authorizer, event)
        allowed = result.get("isAuthorized") if isinstance(result, dict) else None
        if not isinstance(allowed, bool):
            raise BadLambdaResponseError("a simple-response authorizer must return {'isAuthorized': bool}")
        authorization = _Authorization(allowed, dict(result.get("context") or {}))
        if self._ttl > 0:
            with self._cache_lock:
                self._cache[identity] = (time.monotonic() + self._ttl, authorization)
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
        with _INVOCATION_LOCK:
            return handler(event, lambda_context_for(function, self._region))


# -- HTTP server ---------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], gateway: Gateway) -> None:
        self.gateway = gateway
        super().__init__(address, _Handler)
        self.authority = f"{address[0]}:{self.server_port}"


class _BodyTooLargeError(Exception):
    pass


def _read_chunked(stream: io.BufferedIOBase, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size = int(stream.readline(65537).split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while stream.readline(65537) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        total += size
        if total > limit:
            raise _BodyTooLargeError
        chunks.append(stream.read(size))
        stream.readline()


CALLBACK_TOKEN = re.compile(r"^(/v1/callbacks/[^/]+/)[^/?]+")


def loggable_path(target: str) -> str:
    """The path without query string or webhook token: both can carry credentials."""
    return CALLBACK_TOKEN.sub(r"\1***", target.partition("?")[0])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def _serve(self) -> None:
        started = time.perf_counter()
        try:
            body = self._read_body()
        except _BodyTooLargeError:
            self.close_connection = True  # the unread body would corrupt the next request
            response = gateway_answer(413, "Request Entity Too Large")
        except ValueError:
            self.close_connection = True
            response = gateway_answer(400, "Bad Request")
        else:
            request = HttpRequest(
                method=self.command,
                target=self.path,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
                protocol=self.request_version,
                host=self.server.authority,
            )
            response = self.server.gateway.handle(request)
        self._write(response)
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.info('"%s %s" %s %.0f ms', self.command, loggable_path(self.path), response.status, elapsed_ms)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return _read_chunked(self.rfile, MAX_PAYLOAD_BYTES)
        length = int(self.headers.get("content-length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_PAYLOAD_BYTES:
            raise _BodyTooLargeError
        return self.rfile.read(length) if length else b""

    def _write(self, response: HttpResponse) -> None:
        try:
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        # Requests are logged once in _serve, with timing; keep only the stdlib's error reports.
        if format.startswith("code "):
            log.warning(format, *args)


class DevServer:
    """`with DevServer() as server: server.url` or start()/stop()."""

    def __init__(self, host: str = LOOPBACK, port: int = 0, *, authorizer_ttl: int | None = None) -> None:
        self.gateway = Gateway(authorizer_ttl=authorizer_ttl)
        self._host = host
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("DevServer is not started")
        return f"http://{self._host}:{self._server.server_address[1]}"

    def start(self) -> DevServer:
        if self._server is not None:
            return self
        self.gateway.load()
        self._server = _Server((self._host, self._port), self.gateway)
        self._thread = threading.Thread(target=self._server.serve_forever, name="dev-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def configured_port() -> int:
    return int(os.environ.get("CHATBRIDGE_PORT") or DEFAULT_PORT)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Serve template.yaml's routes with the real handlers. Uses the current environment "
        "(TABLE_NAME, AWS_ENDPOINT_URL_*); `python -m local.dev` starts a complete local stack instead."
    )
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, default=configured_port())
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not os.environ.get("TABLE_NAME"):
        parser.error("TABLE_NAME is not set; run `python -m local.dev` for a complete local stack")
    server = DevServer(args.host, args.port).start()
    print(f"Chatbridge API on {server.url} (Ctrl-C stops)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
