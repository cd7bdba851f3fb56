"""Watbot (CleverApp) contacts API simulator: contacts, tags, variables and replies, stateful.

Faithful to provider-docs/watbot-contacts.ru.txt and DESIGN section 7: `/api/v1/<method>`, the
`api_token` and every other parameter read from the query string or a form/JSON body (the Laravel
back end merges them), JSON answers when the client sends `Accept: application/json` and a redirect
to the login page when it does not and the token is refused, 404 for an unknown contact, 422 with
`errors` for missing fields, and 429 above 2 requests per second per token (sliding one-second
window, `Retry-After: 1`). deleteContactVariable answers POST (the public reference) and DELETE
(the document's example).

Answer shapes follow DESIGN where it gives them (getContacts `{"data": [...]}`, getContactVariables
a bare list); the others are small JSON objects of our own. Tests drive failures, latency and the
rate limit through Python (`fail_next`, `latency`, `rate_limit`), not through HTTP.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from local.ports import LOOPBACK

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1/"
MAX_BODY_BYTES = 1024 * 1024
DEFAULT_RATE_LIMIT = 2  # requests per second per api_token (DESIGN section 7)
MAX_CONTACTS_PER_PAGE = 500
DEMO_TOKEN = "wb-demo-token"
DEMO_BOT_ID = "7001"

# method -> HTTP methods it answers
METHODS: dict[str, frozenset[str]] = {
    "getContacts": frozenset({"GET"}),
    "getContactTags": frozenset({"GET"}),
    "getContactVariables": frozenset({"GET"}),
    "attachTagToContact": frozenset({"POST"}),
    "detachTagFromContact": frozenset({"POST"}),
    "setContactVariable": frozenset({"POST"}),
    "deleteContactVariable": frozenset({"POST", "DELETE"}),
    "sendMessage": frozenset({"POST"}),
}


class RecordedRequest(NamedTuple):
    method: str
    operation: str  # the Watbot method, e.g. "attachTagToContact"
    params: dict[str, str]  # query and body merged, api_token included
    headers: dict[str, str]


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass
class Variable:
    id: int
    value: str
    deletable: bool


@dataclass
class Contact:
    id: int
    bot_id: str
    name: str
    phone: str | None = None
    email: str | None = None
    messenger: str = "telegram"
    telegram_id: str | None = None
    telegram_username: str | None = None
    created_at: int = 0  # Unix time
    tags: dict[str, int] = field(default_factory=dict)  # name -> tag id
    variables: dict[str, Variable] = field(default_factory=dict)
    messages: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "bot_id": int(self.bot_id) if self.bot_id.isdigit() else self.bot_id,
            "phone": self.phone,
            "email": self.email,
            "name": self.name,
            "messenger": self.messenger,
            "telegram_id": self.telegram_id,
            "telegram_username": self.telegram_username,
            "viber_id": None,
            "address": None,
            "utm": None,
            "created_at": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.created_at)),
        }


class _Refusal(Exception):
    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


def _invalid(field_name: str, message: str) -> _Refusal:
    return _Refusal(Answer(422, {"message": message, "errors": {field_name: [message]}}))


class WatbotSimulator:
    """A real HTTP server on 127.0.0.1 that behaves like Watbot's contacts API."""

    def __init__(
        self,
        tokens: set[str] | None = None,
        *,
        rate_limit: float | None = DEFAULT_RATE_LIMIT,
        latency: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        host: str = LOOPBACK,
        port: int = 0,
    ) -> None:
        self.tokens = set(tokens or {DEMO_TOKEN})
        self.rate_limit = rate_limit  # requests per second per token; None for no limit
        self.latency = latency  # seconds added to every answer
        self._clock = clock
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._failures: deque[int] = deque()
        self._calls: dict[str, deque[float]] = {}
        self._ids = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[RecordedRequest] = []
        self.contacts: dict[int, Contact] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("WatbotSimulator is not started")
        return f"http://{self._host}:{self._server.server_address[1]}"

    def start(self) -> WatbotSimulator:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server((self._host, self._port), self)
        self._thread = threading.Thread(target=self._server.serve_forever, name="watbot-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> WatbotSimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- data and test controls ----------------------------------------------------------------

    def add_contact(self, name: str, *, bot_id: str = DEMO_BOT_ID, created_at: int | None = None, **fields: Any) -> int:
        with self._lock:
            contact_id = next(self._ids)
            self.contacts[contact_id] = Contact(
                id=contact_id,
                bot_id=bot_id,
                name=name,
                created_at=int(time.time()) if created_at is None else created_at,
                **fields,
            )
            return contact_id

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer `status` to the next `times` calls (after the token and rate checks)."""
        with self._lock:
            self._failures.extend([status] * times)

    def reset(self) -> None:
        """Forget contacts, recorded requests, rate windows and pending failures."""
        with self._lock:
            self._failures.clear()
            self._calls.clear()
            self.requests.clear()
            self.contacts.clear()

    def calls(self, operation: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.operation == operation]

    # -- protocol ------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], raw_body: bytes) -> Answer:
        """The whole behaviour, socket-free: `headers` have lowercased names."""
        if self.latency:
            self._stopping.wait(self.latency)
        split = urlsplit(target)
        operation = split.path[len(API_PREFIX) :] if split.path.startswith(API_PREFIX) else ""
        try:
            params = _params(split.query, headers.get("content-type", ""), raw_body)
        except _Refusal as refusal:
            return refusal.answer
        with self._lock:
            self.requests.append(RecordedRequest(method, operation, params, dict(headers)))
        if operation not in METHODS:
            return Answer(404, {"message": "Not Found"})
        if method not in METHODS[operation]:
            allowed = ", ".join(sorted(METHODS[operation]))
            return Answer(405, {"message": f"The {method} method is not supported for this route."}, {"Allow": allowed})
        try:
            token = self._authenticate(params.get("api_token"), headers.get("accept", ""))
            self._count_call(token)
            failure = self._take_failure()
            if failure is not None:
                return Answer(failure, {"message": "simulated failure"})
            with self._lock:
                return self._dispatch(operation, params)
        except _Refusal as refusal:
            return refusal.answer

    def _authenticate(self, token: str | None, accept: str) -> str:
        if token and token in self.tokens:
            return token
        if "json" not in accept.lower():
            # Laravel sends a browser that is not logged in to its login page.
            raise _Refusal(Answer(302, "", {"Location": "/login"}, content_type="text/html; charset=UTF-8"))
        raise _Refusal(Answer(401, {"message": "Unauthenticated."}))

    def _count_call(self, token: str) -> None:
        if self.rate_limit is None:
            return
        now = self._clock()
        with self._lock:
            window = self._calls.setdefault(token, deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= self.rate_limit:
                raise _Refusal(
                    Answer(
                        429,
                        {"message": "Too Many Attempts."},
                        {"Retry-After": "1", "X-RateLimit-Limit": f"{self.rate_limit:g}", "X-RateLimit-Remaining": "0"},
                    )
                )
            window.append(now)

    def _take_failure(self) -> int | None:
        with self._lock:
            return self._failures.popleft() if self._failures else None

    def _dispatch(self, operation: str, params: dict[str, str]) -> Answer:
        if operation == "getContacts":
            return self._get_contacts(params)
        contact = self._contact(params)
        if operation == "getContactTags":
            return Answer(200, {"data": [{"id": tag_id, "name": name} for name, tag_id in contact.tags.items()]})
        if operation == "attachTagToContact":
            name = _required(params, "name")
            contact.tags.setdefault(name, next(self._ids))
            return Answer(200, {"success": True})
        if operation == "detachTagFromContact":
            contact.tags.pop(_required(params, "name"), None)
            return Answer(200, {"success": True})
        if operation == "getContactVariables":
            return Answer(
                200,
                [
                    {"id": variable.id, "name": name, "value": variable.value, "deletable": int(variable.deletable)}
                    for name, variable in contact.variables.items()
                ],
            )
        if operation == "setContactVariable":
            return self._set_variable(contact, params)
        if operation == "deleteContactVariable":
            contact.variables.pop(_required(params, "name"), None)
            return Answer(200, {"success": True})
        return self._send_message(contact, params)

    def _get_contacts(self, params: dict[str, str]) -> Answer:
        count = _integer(params, "count", 100)
        page = _integer(params, "page", 1)
        if not 1 <= count <= MAX_CONTACTS_PER_PAGE:
            raise _invalid("count", f"The count may not be greater than {MAX_CONTACTS_PER_PAGE}.")
        if page < 1:
            raise _invalid("page", "The page must be at least 1.")
        date_from = _integer(params, "date_from", None)
        date_to = _integer(params, "date_to", None)
        bot_id = params.get("bot_id")
        matching = [
            c
            for c in sorted(self.contacts.values(), key=lambda c: c.id)
            if (bot_id is None or c.bot_id == bot_id)
            and (date_from is None or c.created_at >= date_from)
            and (date_to is None or c.created_at <= date_to)
        ]
        chosen = matching[(page - 1) * count : page * count]
        return Answer(200, {"data": [c.as_json() for c in chosen]})

    def _contact(self, params: dict[str, str]) -> Contact:
        raw = _required(params, "contact_id")
        contact = self.contacts.get(int(raw)) if raw.isdigit() else None
        if contact is None:
            raise _Refusal(Answer(404, {"message": "Contact not found."}))
        return contact

    def _set_variable(self, contact: Contact, params: dict[str, str]) -> Answer:
        name = _required(params, "name")
        if "value" not in params:
            raise _invalid("value", "The value field is required.")
        deletable = params.get("deletable", "1")
        if deletable not in ("0", "1"):
            raise _invalid("deletable", "The deletable field must be 0 or 1.")
        existing = contact.variables.get(name)
        variable_id = existing.id if existing else next(self._ids)
        contact.variables[name] = Variable(variable_id, params["value"], deletable == "1")
        return Answer(200, {"success": True})

    def _send_message(self, contact: Contact, params: dict[str, str]) -> Answer:
        kinds = [k for k in ("text", "image", "file") if params.get(k)]
        if len(kinds) != 1:
            raise _invalid("text", "Send exactly one of text, image or file.")
        message_id = next(self._ids)
        contact.messages.append({"id": str(message_id), kinds[0]: params[kinds[0]]})
        return Answer(200, {"success": True, "data": {"id": message_id}})


def _params(query: str, content_type: str, raw_body: bytes) -> dict[str, str]:
    """Query and body parameters merged as Laravel's `$request->input()` does (the body wins)."""
    params = dict(parse_qsl(query, keep_blank_values=True))
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not raw_body:
        return params
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Refusal(Answer(400, {"message": "The body is not UTF-8."})) from exc
    if media_type == "application/x-www-form-urlencoded":
        params.update(parse_qsl(text, keep_blank_values=True))
    elif media_type == "application/json":
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise _Refusal(Answer(400, {"message": "Malformed JSON."})) from exc
        if isinstance(body, dict):
            params.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()})
    return params


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise _invalid(name, f"The {name} field is required.")
    return value


def _integer(params: dict[str, str], name: str, default: int | None) -> Any:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise _invalid(name, f"The {name} must be an integer.") from exc


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the fan-out benchmark opens many connections at once

    def __init__(self, address: tuple[str, int], simulator: WatbotSimulator) -> None:
        self.simulator = simulator
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx pools connections
    # Headers and body leave in one segment: written apart, Nagle's algorithm holds the body back
    # until the client's delayed ACK (~40 ms on Linux), which would dwarf any simulated latency.
    wbufsize = 64 * 1024
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES or "transfer-encoding" in self.headers:
            self.close_connection = True
            self._send(Answer(400, {"message": "Bad Request"}))
            return
        raw_body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        self._send(self.server.simulator.handle(self.command, self.path, headers, raw_body))

    def _send(self, answer: Answer) -> None:
        payload = (
            json.dumps(answer.body, ensure_ascii=False).encode("utf-8")
            if answer.content_type == "application/json"
            else str(answer.body).encode("utf-8")
        )
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        # The request line carries api_token in its query string: log the path only.
        log.debug("watbot-sim %s %s", self.command, self.path.partition("?")[0])


def seed_demo_contacts(simulator: WatbotSimulator) -> list[int]:
    return [
        simulator.add_contact(
            "Иван Петров",
            phone="+79990000001",
            telegram_id="100500",
            telegram_username="ivan_p",
            created_at=1_700_000_000,
        ),
        simulator.add_contact("Marie Curie", email="marie@example.org", messenger="viber", created_at=1_700_086_400),
        simulator.add_contact("Ali 🚀", phone="+33670000000", messenger="whatsapp", created_at=1_700_172_800),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Watbot contacts API simulator (demo contacts)")
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--rate-limit", type=float, default=DEFAULT_RATE_LIMIT, help="requests/s per token; 0: none")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    parser.add_argument("--token", default=DEMO_TOKEN, help="the api_token it accepts")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    simulator = WatbotSimulator(
        {args.token}, rate_limit=args.rate_limit or None, latency=args.latency, host=args.host, port=args.port
    ).start()
    ids = seed_demo_contacts(simulator)
    print(f"Watbot simulator on {simulator.url}   api_token={args.token}   contacts {ids}")
    print(f"  GET {simulator.url}{API_PREFIX}getContacts?api_token={args.token}   (Ctrl-C stops)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()


if __name__ == "__main__":
    main()
