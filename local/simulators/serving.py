"""What the Smartico, Imbee and Bi-way simulators share: a threaded stdlib HTTP server on 127.0.0.1
in front of a socket-free `handle`, recorded requests, and the test controls.

A simulator subclasses `Simulator` and implements `answer()`; `handle()` records the request and
applies the controls first (`fail_next`, `delay_next`), so tests drive failures through Python, not
through HTTP. Unit tests call `handle()` through httpx.MockTransport (tests/simulated.py), so what
they prove is what `make dev` and the integration tests serve.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, NamedTuple, Self
from urllib.parse import urlsplit

from local.ports import LOOPBACK

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024


class RecordedRequest(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]  # lowercased names
    body: Any  # parsed JSON when the body was JSON, else the text, None when empty


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


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


class Simulator:
    """Lifecycle, recording and controls; subclasses implement `answer()`."""

    name: ClassVar[str] = "simulator"

    def __init__(self, host: str = LOOPBACK, port: int = 0) -> None:
        self._host = host
        self._port = port
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._failures: deque[int] = deque()
        self._delays: deque[float] = deque()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
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
        self._stopping.set()  # wakes requests sleeping in delay_next
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
        """Answer `status` (e.g. 503) to the next `times` calls, before any check."""
        with self._lock:
            self._failures.extend([status] * times)

    def delay_next(self, seconds: float, times: int = 1) -> None:
        """Sleep `seconds` before answering the next `times` calls."""
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

    def handle(self, method: str, target: str, headers: dict[str, str], raw_body: bytes) -> Answer:
        """The whole behaviour, socket-free: `headers` have lowercased names."""
        path = urlsplit(target).path
        with self._lock:
            self.requests.append(RecordedRequest(method, path, dict(headers), parsed_for_record(raw_body)))
            delay = self._delays.popleft() if self._delays else 0.0
            failure = self._failures.popleft() if self._failures else None
        if delay:
            self._stopping.wait(delay)
        if failure is not None:
            return Answer(failure, {"error": "simulated failure"})
        return self.answer(method, path, headers, raw_body)

    def answer(self, method: str, path: str, headers: dict[str, str], raw_body: bytes) -> Answer:
        raise NotImplementedError


class _Server(ThreadingHTTPServer):
    daemon_threads = True

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
        raw_body = self._read_body()
        if raw_body is None:
            self._send(Answer(400, {"error": "body too large or without a valid Content-Length"}))
            return
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        self._send(self.server.simulator.handle(self.command, self.path, headers, raw_body))

    def _read_body(self) -> bytes | None:
        if "transfer-encoding" in self.headers:
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
        log.info("%s-sim %s - %s", self.server.simulator.name, self.address_string(), format % args)
