"""SmartRegion registration API simulator, faithful to provider-docs/smartregion-registration.txt.

The document defines one call, `POST /registration` with `Content-Type: application/json` and the
project's access token in `X-API-KEY`, and only status codes: 201 registered, 200 registration
updated, 404 channel or project not found, 403 authorization error, 400 missing or wrong required
parameter. Bodies answered here are small JSON objects of our own; clients must rely on the codes.

Checks run in the order a gateway in front of the provider would apply them: route, token,
media type, JSON, fields, then project and channel. Tokens are project-scoped (DESIGN.md section 7),
so a known token used for another known project is a 403, while an unknown project is a 404.

Tests drive failures through Python methods (`fail_next`, `delay_next`), not through HTTP.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple, TypedDict
from urllib.parse import urlsplit

from local.ports import LOOPBACK

log = logging.getLogger(__name__)

REGISTRATION_PATH = "/registration"
REQUIRED_FIELDS = ("channel_id", "project_id", "user_id", "payload")
MAX_BODY_BYTES = 1024 * 1024

DEMO_PROJECT = "demo-project"
DEMO_CHANNEL = "demo-channel"
DEMO_API_KEY = "sr-demo-key"


class ProjectConfig(TypedDict):
    api_key: str
    channels: list[str]


class RecordedRequest(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON when the body was JSON, else the text, None when empty


@dataclass
class RegisteredUser:
    payload: str
    user_field: dict[str, Any] = field(default_factory=dict)
    updates: int = 0


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class _Refusal(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.answer = Answer(status, {"error": error})


UserKey = tuple[str, str, str]  # (project_id, channel_id, user_id)


class SmartRegionSimulator:
    """A real HTTP server on 127.0.0.1 that behaves like SmartRegion's registration API."""

    def __init__(self, projects: dict[str, ProjectConfig], host: str = LOOPBACK, port: int = 0) -> None:
        self.projects = projects
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._failures: deque[int] = deque()
        self._delays: deque[float] = deque()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[RecordedRequest] = []
        self.users: dict[UserKey, RegisteredUser] = {}
        # The channel's WebHook: where presence events go (the local stack points it at the API).
        self.webhook_url: str | None = None
        self.webhook_deliveries: list[tuple[dict[str, Any], int]] = []

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("SmartRegionSimulator is not started")
        return f"http://{self._host}:{self._server.server_address[1]}"

    def start(self) -> SmartRegionSimulator:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server((self._host, self._port), self)
        self._thread = threading.Thread(target=self._server.serve_forever, name="smartregion-sim", daemon=True)
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

    def __enter__(self) -> SmartRegionSimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- test controls -------------------------------------------------------------------------

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer `status` (e.g. 503) to the next `times` registration calls, before any check."""
        with self._lock:
            self._failures.extend([status] * times)

    def delay_next(self, seconds: float, times: int = 1) -> None:
        """Sleep `seconds` before answering the next `times` registration calls."""
        with self._lock:
            self._delays.extend([seconds] * times)

    def reset(self) -> None:
        """Forget users, recorded requests and pending controls; projects stay."""
        with self._lock:
            self._failures.clear()
            self._delays.clear()
            self.requests.clear()
            self.users.clear()
            self.webhook_deliveries.clear()

    # -- presence webhooks -----------------------------------------------------------------------

    def report_presence(
        self,
        user_id: str,
        event: str = "connection",
        *,
        at: datetime | None = None,
        url: str | None = None,
        attempts: int = 3,
    ) -> int:
        """POST a presence event about a registered user to the WebHook; the final HTTP status.

        The document says only that events (detection, connection, disconnection of registered users)
        are POSTed as JSON; this body is our assumption: `event`, `user_id`, `channel_id`,
        `project_id` and `time`, no event id (so the receiver dedupes on the body's hash). Delivery is
        retried on 5xx and connection errors, as webhook senders do.
        """
        target = url or self.webhook_url
        if not target:
            raise RuntimeError("no webhook_url is configured")
        with self._lock:
            registered = [key for key in self.users if key[2] == user_id]
        if not registered:
            raise LookupError(f"{user_id} is not registered: SmartRegion reports only registered users")
        project_id, channel_id, _ = registered[0]
        body = {
            "event": event,
            "user_id": user_id,
            "channel_id": channel_id,
            "project_id": project_id,
            "time": (at or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
        }
        status = _post_json(target, body, attempts)
        with self._lock:
            self.webhook_deliveries.append((body, status))
        return status

    # -- protocol ------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], raw_body: bytes) -> Answer:
        """The whole behaviour, socket-free: `headers` have lowercased names."""
        path = urlsplit(target).path
        with self._lock:
            self.requests.append(RecordedRequest(method, path, dict(headers), _parsed_for_record(raw_body)))
        if path != REGISTRATION_PATH:
            return Answer(404, {"error": "not found"})
        if method != "POST":
            return Answer(405, {"error": "method not allowed"}, {"Allow": "POST"})
        delay, failure = self._take_controls()
        if delay:
            self._stopping.wait(delay)
        if failure is not None:
            return Answer(failure, {"error": "simulated failure"})
        try:
            return self._register(headers, raw_body)
        except _Refusal as refusal:
            return refusal.answer

    def _take_controls(self) -> tuple[float, int | None]:
        with self._lock:
            delay = self._delays.popleft() if self._delays else 0.0
            failure = self._failures.popleft() if self._failures else None
        return delay, failure

    def _register(self, headers: dict[str, str], raw_body: bytes) -> Answer:
        token_project = self._project_of_token(headers.get("x-api-key"))
        _require_json_media_type(headers.get("content-type", ""))
        body = _parse_registration(raw_body)
        project_id, channel_id = body["project_id"], body["channel_id"]
        project = self.projects.get(project_id)
        if project is None:
            raise _Refusal(404, "project not found")
        if token_project != project_id:
            raise _Refusal(403, "access token is not valid for this project")
        if channel_id not in project["channels"]:
            raise _Refusal(404, "channel not found")
        return self._upsert((project_id, channel_id, body["user_id"]), body)

    def _project_of_token(self, token: str | None) -> str:
        for project_id, project in self.projects.items():
            if token and token == project["api_key"]:
                return project_id
        raise _Refusal(403, "authorization error")

    def _upsert(self, key: UserKey, body: dict[str, Any]) -> Answer:
        with self._lock:
            user = self.users.get(key)
            if user is None:
                self.users[key] = RegisteredUser(payload=body["payload"], user_field=body.get("user_field") or {})
                return Answer(201, {"status": "created"})
            user.payload = body["payload"]
            if "user_field" in body:
                user.user_field = body["user_field"]
            user.updates += 1
            return Answer(200, {"status": "updated"})


def _post_json(url: str, body: dict[str, Any], attempts: int) -> int:
    payload = json.dumps(body).encode("utf-8")
    status = 0
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(url, data=payload, method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as refused:
            status = refused.code
            if status < 500:
                return status
        except OSError as exc:
            log.warning("smartregion-sim webhook delivery failed (%s)", exc)
        time.sleep(0.2 * attempt)
    return status


def _parsed_for_record(raw_body: bytes) -> Any:
    if not raw_body:
        return None
    text = raw_body.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _require_json_media_type(content_type: str) -> None:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise _Refusal(400, "Content-Type must be application/json")


def _parse_registration(raw_body: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Refusal(400, "body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise _Refusal(400, "body must be a JSON object")
    for name in REQUIRED_FIELDS:
        value = body.get(name)
        if value is None:
            raise _Refusal(400, f"{name} is required")
        if not isinstance(value, str) or not value.strip():
            raise _Refusal(400, f"{name} must be a non-empty string")
    if "user_field" in body and not isinstance(body["user_field"], dict):
        raise _Refusal(400, "user_field must be an object")
    return body


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], simulator: SmartRegionSimulator) -> None:
        self.simulator = simulator
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx pools connections
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
        payload = json.dumps(answer.body).encode("utf-8")
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (delay_next exists to make it do so).
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.info("smartregion-sim %s - %s", self.address_string(), format % args)


def demo_projects() -> dict[str, ProjectConfig]:
    return {DEMO_PROJECT: {"api_key": DEMO_API_KEY, "channels": [DEMO_CHANNEL]}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="SmartRegion registration API simulator (demo project)")
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    simulator = SmartRegionSimulator(demo_projects(), host=args.host, port=args.port).start()
    print(f"SmartRegion simulator on {simulator.url}")
    print(f"  project_id={DEMO_PROJECT} channel_id={DEMO_CHANNEL} X-API-KEY={DEMO_API_KEY}")
    print(f"  POST {simulator.url}{REGISTRATION_PATH}   (Ctrl-C stops)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()


if __name__ == "__main__":
    main()
