"""What the provider simulators share: a threaded stdlib HTTP server on 127.0.0.1 in front of a
socket-free `handle`, recorded requests, the test controls and the command line.

A simulator subclasses `Simulator` and implements `answer()`; `handle()` records the request, then
refuses what the provider's framework would (a path outside `routes`, a method a route does not
answer, with `refuse_malformed_bodies` a body it cannot parse), lets `admit()` refuse it
(credentials, rate limits) and applies the controls (`latency`, `delay_next`, `fail_next`) before
`answer()` runs, so tests drive failures through Python, not through HTTP. Unit tests call
`handle()` through httpx.MockTransport (tests/simulated.py), so what they prove is what `make dev`
and the integration tests serve.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, NamedTuple, Self, TypeVar
from urllib.parse import parse_qsl, urlsplit

from local.ports import LOOPBACK
from local.retention import keep_recent

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024


class RecordedRequest(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]  # lowercased names
    body: Any  # parsed JSON when the body was JSON, else the text, None when empty
    params: dict[str, str]  # query string and form or JSON-object body merged (`request_params`)

    @property
    def operation(self) -> str:
        """The path's last segment: the method name of an RPC-style API (Watbot's /api/v1/<method>)."""
        return self.path.rpartition("/")[2]


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class Refusal(Exception):
    """Raised in `admit()` or `answer()`: `answer` is what the simulator replies."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


def parsed_for_record(raw_body: bytes) -> Any:
    if not raw_body:
        return None
    text = raw_body.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def json_object(raw_body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one."""
    try:
        parsed = json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


def media_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def request_params(query: str, headers: dict[str, str], raw_body: bytes) -> dict[str, str]:
    """Query and body parameters merged as Laravel's `$request->input()` does (the body wins).

    A form body gives its fields, a JSON object its members (non-strings as JSON text). Raises
    ValueError, with the message a framework would answer, for a body that is not UTF-8 or is
    malformed JSON.
    """
    params = dict(parse_qsl(query, keep_blank_values=True))
    if not raw_body:
        return params
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError("The body is not UTF-8.") from exc
    kind = media_type(headers)
    if kind == "application/x-www-form-urlencoded":
        params.update(parse_qsl(text, keep_blank_values=True))
    elif kind == "application/json":
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise ValueError("Malformed JSON.") from exc
        if isinstance(body, dict):
            params.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()})
    return params


class Simulator:
    """Lifecycle, recording and controls; subclasses implement `answer()`."""

    name: ClassVar[str] = "simulator"
    # path -> the HTTP methods it answers; None: `answer()` routes by itself.
    routes: ClassVar[Mapping[str, frozenset[str]] | None] = None
    # True: a body that is not UTF-8 or is malformed JSON is a 400, not recorded (a framework's parser).
    refuse_malformed_bodies: ClassVar[bool] = False
    # Error answers are {error_field: message}; `not_allowed` may name the {method}.
    error_field: ClassVar[str] = "error"
    not_found: ClassVar[str] = "not found"
    not_allowed: ClassVar[str] = "method not allowed"
    bad_framing: ClassVar[str] = "body too large or without a valid Content-Length"
    log_level: ClassVar[int] = logging.INFO

    def __init__(self, host: str = LOOPBACK, port: int = 0) -> None:
        self._host = host
        self._port = port
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._failures: deque[int] = deque()
        self._delays: deque[float] = deque()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.latency = 0.0  # seconds added to every answer
        self.requests: list[RecordedRequest] = []

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://{self._host}:{self._server.server_address[1]}"

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server((self._host, self._port), self)
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"{self.name}-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes requests sleeping in latency or delay_next
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- test controls -------------------------------------------------------------------------

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer `status` (e.g. 503) to the next `times` calls that pass the route and `admit()`."""
        with self._lock:
            self._failures.extend([status] * times)

    def delay_next(self, seconds: float, times: int = 1) -> None:
        """Sleep `seconds` before answering the next `times` calls that pass the route and `admit()`."""
        with self._lock:
            self._delays.extend([seconds] * times)

    def reset(self) -> None:
        """Forget recorded requests and pending controls (subclasses also forget their state)."""
        with self._lock:
            self._failures.clear()
            self._delays.clear()
            self.requests.clear()

    def calls(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # -- protocol ------------------------------------------------------------------------------

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
        """An error answer in the provider's shape."""
        return Answer(status, {self.error_field: message}, headers or {})

    def handle(self, method: str, target: str, headers: dict[str, str], raw_body: bytes) -> Answer:
        """The whole behaviour, socket-free: `headers` have lowercased names."""
        if self.latency:
            self._stopping.wait(self.latency)
        split = urlsplit(target)
        try:
            params = request_params(split.query, headers, raw_body)
        except ValueError as malformed:
            if self.refuse_malformed_bodies:
                return self.error(400, str(malformed))
            params = dict(parse_qsl(split.query, keep_blank_values=True))
        request = RecordedRequest(method, split.path, dict(headers), parsed_for_record(raw_body), params)
        with self._lock:
            self.requests.append(request)
            keep_recent(self.requests)  # `make dev` runs for hours: the recent past only
        try:
            self._route(method, split.path)
            self.admit(request)
            self._apply_controls()
            return self.answer(request, raw_body)
        except Refusal as refusal:
            return refusal.answer

    def _route(self, method: str, path: str) -> None:
        if self.routes is None:
            return
        allowed = self.routes.get(path)
        if allowed is None:
            raise Refusal(self.error(404, self.not_found))
        if method not in allowed:
            message = self.not_allowed.format(method=method)
            raise Refusal(self.error(405, message, {"Allow": ", ".join(sorted(allowed))}))

    def _apply_controls(self) -> None:
        with self._lock:
            delay = self._delays.popleft() if self._delays else 0.0
            failure = self._failures.popleft() if self._failures else None
        if delay:
            self._stopping.wait(delay)
        if failure is not None:
            raise Refusal(self.error(failure, "simulated failure"))

    def admit(self, request: RecordedRequest) -> None:
        """Raise Refusal for a call refused before the controls apply (credentials, rate limits)."""

    def answer(self, request: RecordedRequest, raw_body: bytes) -> Answer:
        raise NotImplementedError


S = TypeVar("S", bound=Simulator)


def run_standalone(
    description: str,
    create: Callable[[argparse.Namespace], S],
    banner: Callable[[S], Iterable[str]],
    argv: list[str] | None = None,
    options: Callable[[argparse.ArgumentParser], None] | None = None,
) -> None:
    """`python -m local.simulators.<provider>`: serve `create(args)` until Ctrl-C.

    The arguments have --host and --port (0 picks a free port) and what `options` adds; `banner`
    gives the lines printed once the simulator listens.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    if options is not None:
        options(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    simulator = create(args).start()
    for line in banner(simulator):
        print(line, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the fan-out benchmark opens many connections at once

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        self.simulator = simulator
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx pools connections
    # Buffered writes: headers and body leave in one segment instead of stalling ~40 ms on
    # keep-alive connections (Nagle's algorithm meeting delayed ACKs).
    wbufsize = 64 * 1024
    server: _Server

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        simulator = self.server.simulator
        raw_body = self._read_body()
        if raw_body is None:
            self._send(simulator.error(400, simulator.bad_framing))
            return
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        self._send(simulator.handle(self.command, self.path, headers, raw_body))

    def _read_body(self) -> bytes | None:
        if "transfer-encoding" in self.headers:
            # Not needed by any client we test; refusing keeps the connection state simple.
            self.close_connection = True
            return None
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            self.close_connection = True
            return None
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _send(self, answer: Answer) -> None:
        if answer.content_type == "application/json":
            payload = json.dumps(answer.body, ensure_ascii=False).encode("utf-8")
        else:
            payload = str(answer.body).encode("utf-8")
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (delay_next exists to make it do so)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        simulator = self.server.simulator
        message = format % args
        path = getattr(self, "path", "")
        if "?" in path:  # a query string can carry a credential (Watbot's api_token): never logged
            message = message.replace(path, path.partition("?")[0])
        log.log(simulator.log_level, "%s-sim %s - %s", simulator.name, self.address_string(), message)
