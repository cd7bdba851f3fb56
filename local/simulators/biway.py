"""Bi-way/Api simulator, faithful to Bi-way's API guide (French) where it says something.

The guide names the services and their flow only. What it says, and this simulator does:
- a partner account registers a callback URL (`POST /system/callback`) for the events of its
  sub-accounts, and each user account one for its own events;
- `POST /client/company` (establishment record) and `POST /system/account` (partner) create
  resources "en attente de vérification"; state changes go to the partner's callback URL;
- `POST /chatbot/agent` (user) creates a chat environment pending verification;
- `POST /messenger/rcs-tester` (user) adds a tester to an *active* chat environment; the person
  accepts by hand, so the tester is pending until then;
- `POST /messenger/template`, `POST /chatbot/token` (user): a template, a chat token whose use
  produces a MESSENGER_REPORT with state `read`;
- `POST /messenger/submit` (one recipient), `/messenger/conversation` (a few), `/messenger/broadcast`
  (mass): status changes go to the user's callback URL.

What the guide leaves open is fixed here, as the cross-team contract says (README "Bi-way"):
auth `Authorization: Bearer <api_key>` (401 without a known key, 403 when the account lacks the
role: partner services need a partner key, user services a user key); JSON bodies (400 when not
an object, 422 `{"error", "fields"}` when a required field is missing, 404 for an unknown agent,
409 for a duplicate); answers `201 {"id", "state", ...}`; callbacks are
`{"event_id", "event", "resource_id", "state", "occurred_at", "recipient"?, "data"}` posted from a
background thread after `state_delay` seconds (companies, accounts and agents become `active`,
testers `accepted`; sends report `sent`, `delivered`, `read` per recipient, or `failed` for the
numbers in `failing_recipients`), retried on non-2xx up to `callback_attempts` times.

Socket-free (unit tests): nothing is delivered; `take_callbacks()` hands over what would have been.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import logging
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from local.ports import LOOPBACK
from local.retention import keep_recent
from local.simulators.serving import Answer, RecordedRequest, Simulator, json_object, media_type, run_standalone

log = logging.getLogger(__name__)

PARTNER, USER = "partner", "user"
DEMO_API_KEY = "biway-demo-key"  # partner and user at once, so one connection serves every route
DEMO_AGENT_ID = "agt_demo"  # an active chat environment of the demo key, for testers and chat tokens
MAX_CONVERSATION_RECIPIENTS = 50
MAX_BROADCAST_RECIPIENTS = 10_000
PHONE = re.compile(r"^\+?[1-9][0-9]{6,14}$")
SIRET = re.compile(r"^[0-9]{14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CHAT_PATH_PREFIX = "/chat/"

# event type and final state of the resources that wait for verification
VERIFIED = {
    "company": ("COMPANY_STATE", "active"),
    "account": ("ACCOUNT_STATE", "active"),
    "agent": ("AGENT_STATE", "active"),
    "tester": ("TESTER_STATE", "accepted"),
}
REPORT_STATES = ("sent", "delivered", "read")


@dataclass
class Resource:
    id: str
    kind: str  # company, account, agent, tester, template, chat_token, submit, conversation, broadcast
    owner: str  # the api key that created it
    state: str
    data: dict[str, Any]


@dataclass
class Callback:
    url: str | None
    payload: dict[str, Any]
    attempts: int = 0


@dataclass(frozen=True)
class Delivery:
    url: str
    event_id: str
    event: str
    state: str
    status: int | None  # None when the connection failed
    attempt: int


@dataclass(order=True)
class _Due:
    at: float
    sequence: int
    callback: Callback = field(compare=False)


class _Refusal(Exception):
    def __init__(self, status: int, error: str, fields: list[str] | None = None) -> None:
        super().__init__(error)
        body: dict[str, Any] = {"error": error}
        if fields:
            body["fields"] = fields
        self.answer = Answer(status, body)


def _missing(*names: str) -> _Refusal:
    return _Refusal(422, "missing or invalid fields: " + ", ".join(names), list(names))


class BiwaySimulator(Simulator):
    """A real HTTP server on 127.0.0.1 that behaves like Bi-way/Api, and sends its callbacks."""

    name = "biway"

    def __init__(
        self,
        api_keys: dict[str, frozenset[str]] | None = None,
        *,
        state_delay: float = 0.5,
        auto_verify: bool = True,
        callback_attempts: int = 4,
        retry_delay: float = 0.2,
        chat_url: str = "https://chat.bi-way.local",
        host: str = LOOPBACK,
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        self.api_keys = api_keys if api_keys is not None else {DEMO_API_KEY: frozenset({PARTNER, USER})}
        self.state_delay = state_delay
        self.auto_verify = auto_verify
        self.callback_attempts = callback_attempts
        self.retry_delay = retry_delay
        self.chat_url = chat_url
        self.failing_recipients: set[str] = set()
        self.callback_urls: dict[str, dict[str, Any]] = {}  # api key -> {"url", "token"}
        self.resources: dict[str, Resource] = {}
        self.chat_tokens: dict[str, str] = {}  # token -> resource id
        self.events: list[dict[str, Any]] = []  # every callback payload emitted, in order
        self.deliveries: list[Delivery] = []  # every delivery attempt
        self._queue: list[_Due] = []
        self._sequence = itertools.count()
        self._wakeup = threading.Condition(self._lock)
        self._dispatcher: threading.Thread | None = None
        self._dispatching = False
        self._in_flight = 0
        self._seed()

    def _seed(self) -> None:
        owner = next((k for k, roles in self.api_keys.items() if USER in roles), None)
        if owner is not None:
            self.resources[DEMO_AGENT_ID] = Resource(DEMO_AGENT_ID, "agent", owner, "active", {"name": "Demo agent"})

    # -- lifecycle: the HTTP server plus the thread that delivers callbacks ----------------------

    def start(self) -> Self:
        super().start()
        with self._lock:
            if self._dispatcher is None:
                self._dispatching = True
                self._dispatcher = threading.Thread(target=self._dispatch, name="biway-callbacks", daemon=True)
                self._dispatcher.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._dispatching = False
            self._wakeup.notify_all()
            dispatcher, self._dispatcher = self._dispatcher, None
        if dispatcher is not None:
            dispatcher.join(timeout=5)
        super().stop()

    # -- test controls -------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget resources, events and deliveries; registered callback URLs and the demo agent stay."""
        super().reset()
        with self._lock:
            self.resources.clear()
            self.chat_tokens.clear()
            self.events.clear()
            self.deliveries.clear()
            self._queue.clear()
            self.failing_recipients.clear()
            self._seed()

    def change_state(self, resource_id: str, state: str, *, delay: float = 0.0, **data: Any) -> None:
        """Emit a state change of a company, account, agent or tester (e.g. `rejected`)."""
        with self._lock:
            resource = self.resources[resource_id]
            event, _ = VERIFIED[resource.kind]
            resource.state = state
            self._emit(resource.owner, event, resource.id, state, delay=delay, data=data)

    def use_chat_token(self, token: str) -> str:
        """The person opens the chat: a MESSENGER_REPORT `read` for the token. Returns the token's id."""
        with self._lock:
            resource_id = self.chat_tokens.get(token)
            if resource_id is None:
                raise KeyError("unknown chat token")
            resource = self.resources[resource_id]
            resource.state = "read"
            self._emit(
                resource.owner, "MESSENGER_REPORT", resource.id, "read", recipient=resource.data.get("recipient")
            )
            return resource_id

    def take_callbacks(self) -> list[Callback]:
        """Every callback not delivered yet, due or not, in due order (for socket-free tests)."""
        with self._lock:
            taken = [due.callback for due in sorted(self._queue)]
            self._queue.clear()
            return taken

    def wait_for_deliveries(self, timeout: float = 5.0) -> bool:
        """True once no callback is waiting (delivered, or given up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._queue and not self._in_flight:
                    return True
            time.sleep(0.02)
        return False

    # -- protocol ------------------------------------------------------------------------------

    def answer(self, request: RecordedRequest, raw_body: bytes) -> Answer:
        method, path, headers = request.method, request.path, request.headers
        if method == "GET" and path.startswith(CHAT_PATH_PREFIX):
            return self._open_chat(path.removeprefix(CHAT_PATH_PREFIX))
        route = ROUTES.get(path)
        if route is None:
            return Answer(404, {"error": "not found"})
        if method != "POST":
            return Answer(405, {"error": "method not allowed"}, {"Allow": "POST"})
        roles, service = route
        try:
            key = self._authenticate(headers.get("authorization", ""), roles)
            if media_type(headers) != "application/json":
                raise _Refusal(400, "Content-Type must be application/json")
            body = json_object(raw_body)
            if body is None:
                raise _Refusal(400, "the body must be a JSON object")
            return service(self, key, body)
        except _Refusal as refusal:
            return refusal.answer

    def _authenticate(self, authorization: str, roles: frozenset[str]) -> str:
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or key not in self.api_keys:
            raise _Refusal(401, "invalid or missing api key")
        if not roles & self.api_keys[key]:
            raise _Refusal(403, f"this service needs a {' or '.join(sorted(roles))} account")
        return key

    def _create(self, prefix: str, kind: str, owner: str, state: str, data: dict[str, Any]) -> Resource:
        resource = Resource(f"{prefix}_{secrets.token_hex(6)}", kind, owner, state, data)
        self.resources[resource.id] = resource
        if kind in VERIFIED and self.auto_verify:
            event, verified_state = VERIFIED[kind]
            self._emit(owner, event, resource.id, verified_state, delay=self.state_delay)
        return resource

    @staticmethod
    def _created(resource: Resource, **extra: Any) -> Answer:
        return Answer(201, {"id": resource.id, "state": resource.state, **extra})

    # services --------------------------------------------------------------------------------

    def _register_callback(self, key: str, body: dict[str, Any]) -> Answer:
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise _missing("url")
        with self._lock:
            self.callback_urls[key] = {"url": url, "token": body.get("token")}
        return Answer(200, {"url": url, "state": "registered"})

    def _create_company(self, key: str, body: dict[str, Any]) -> Answer:
        _require_text(body, "name")
        siret = body.get("siret")
        if not isinstance(siret, str) or not SIRET.match(siret):
            raise _missing("siret")
        with self._lock:
            if self._find("company", key, siret=siret):
                raise _Refusal(409, "an establishment with this siret already exists")
            resource = self._create("cmp", "company", key, "pending_verification", body)
        return self._created(resource)

    def _create_account(self, key: str, body: dict[str, Any]) -> Answer:
        email = body.get("email")
        if not isinstance(email, str) or not EMAIL.match(email):
            raise _missing("email")
        with self._lock:
            if self._find("account", key, email=email.lower()):
                raise _Refusal(409, "an account with this email already exists")
            resource = self._create("acc", "account", key, "pending_verification", {**body, "email": email.lower()})
        return self._created(resource, activation_required=False)

    def _create_agent(self, key: str, body: dict[str, Any]) -> Answer:
        _require_text(body, "name")
        with self._lock:
            resource = self._create("agt", "agent", key, "pending_verification", body)
        return self._created(resource)

    def _register_tester(self, key: str, body: dict[str, Any]) -> Answer:
        agent_id = _require_text(body, "agent_id")
        phone = body.get("phone")
        if not isinstance(phone, str) or not PHONE.match(phone):
            raise _missing("phone")
        with self._lock:
            agent = self._agent(key, agent_id)
            if agent.state != "active":
                raise _Refusal(422, f"agent {agent_id} is not active ({agent.state})")
            if self._find("tester", key, agent_id=agent_id, phone=phone.removeprefix("+")):
                raise _Refusal(409, "this phone already tests this agent")
            data = {**body, "phone": phone.removeprefix("+")}
            resource = self._create("tst", "tester", key, "pending_verification", data)
        return self._created(resource)

    def _create_template(self, key: str, body: dict[str, Any]) -> Answer:
        _require_text(body, "name")
        with self._lock:
            resource = self._create("tpl", "template", key, "active", body)
        return self._created(resource)

    def _create_chat_token(self, key: str, body: dict[str, Any]) -> Answer:
        agent_id = _require_text(body, "agent_id")
        with self._lock:
            self._agent(key, agent_id)
            token = secrets.token_urlsafe(16)
            resource = self._create("tok", "chat_token", key, "created", body)
            self.chat_tokens[token] = resource.id
        return self._created(resource, token=token, url=f"{self.chat_url}{CHAT_PATH_PREFIX}{token}")

    def _submit(self, key: str, body: dict[str, Any]) -> Answer:
        recipient = body.get("recipient")
        if not isinstance(recipient, str) or not PHONE.match(_digits(recipient)):
            raise _missing("recipient")
        return self._send(key, "submit", body, [recipient])

    def _conversation(self, key: str, body: dict[str, Any]) -> Answer:
        return self._send(key, "conversation", body, _recipients(body, MAX_CONVERSATION_RECIPIENTS))

    def _broadcast(self, key: str, body: dict[str, Any]) -> Answer:
        return self._send(key, "broadcast", body, _recipients(body, MAX_BROADCAST_RECIPIENTS))

    def _send(self, key: str, kind: str, body: dict[str, Any], recipients: list[str]) -> Answer:
        agent_id = body.get("agent_id")
        with self._lock:
            if agent_id is not None:
                self._agent(key, str(agent_id))
            resource = self._create("msg", kind, key, "accepted", body)
            for recipient in recipients:
                failing = _digits(recipient) in {_digits(r) for r in self.failing_recipients}
                states = ("sent", "failed") if failing else REPORT_STATES
                for step, state in enumerate(states, start=1):
                    self._emit(
                        key, "MESSENGER_REPORT", resource.id, state, delay=self.state_delay * step, recipient=recipient
                    )
        return self._created(resource, recipients=len(recipients))

    def _open_chat(self, token: str) -> Answer:
        try:
            resource_id = self.use_chat_token(token)
        except KeyError:
            return Answer(404, {"error": "unknown chat token"})
        return Answer(200, {"chat": resource_id, "state": "open"})

    # helpers ---------------------------------------------------------------------------------

    def _find(self, kind: str, owner: str, **fields: Any) -> Resource | None:
        for resource in self.resources.values():
            matches = all(resource.data.get(k) == v for k, v in fields.items())
            if resource.kind == kind and resource.owner == owner and matches:
                return resource
        return None

    def _agent(self, owner: str, agent_id: str) -> Resource:
        agent = self.resources.get(agent_id)
        if agent is None or agent.kind != "agent" or agent.owner != owner:
            raise _Refusal(404, f"agent {agent_id} not found")
        return agent

    # -- callbacks -------------------------------------------------------------------------------

    def _emit(
        self,
        owner: str,
        event: str,
        resource_id: str,
        state: str,
        *,
        delay: float = 0.0,
        recipient: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Queue a callback to the owner's registered URL, due in `delay` seconds (lock held)."""
        payload: dict[str, Any] = {
            "event_id": str(uuid.uuid4()),
            "event": event,
            "resource_id": resource_id,
            "state": state,
            "occurred_at": _utc(datetime.now(UTC) + timedelta(seconds=delay)),
            "data": data or {},
        }
        if recipient is not None:
            payload["recipient"] = recipient
        self.events.append(payload)
        keep_recent(self.events)
        url = (self.callback_urls.get(owner) or {}).get("url")
        heapq.heappush(self._queue, _Due(time.monotonic() + delay, next(self._sequence), Callback(url, payload)))
        self._wakeup.notify_all()

    def _dispatch(self) -> None:
        import httpx  # only the served simulator delivers; unit tests never import it here

        with httpx.Client(timeout=5.0) as client:
            while True:
                with self._lock:
                    if not self._dispatching:
                        return
                    if not self._queue or self._queue[0].at > time.monotonic():
                        wait = (self._queue[0].at - time.monotonic()) if self._queue else 0.5
                        self._wakeup.wait(timeout=max(0.001, min(wait, 0.5)))
                        continue
                    due = heapq.heappop(self._queue)
                    self._in_flight += 1
                try:
                    self._deliver(client, due.callback)
                finally:
                    with self._lock:
                        self._in_flight -= 1

    def _deliver(self, client: Any, callback: Callback) -> None:
        payload = callback.payload
        if callback.url is None:
            log.info("biway-sim: no callback URL registered; %s %s dropped", payload["event"], payload["state"])
            return
        callback.attempts += 1
        status: int | None
        try:
            status = client.post(callback.url, json=payload).status_code
        except Exception as exc:
            log.info("biway-sim: callback to the registered URL failed: %s", type(exc).__name__)
            status = None
        with self._lock:
            self.deliveries.append(
                Delivery(
                    callback.url, payload["event_id"], payload["event"], payload["state"], status, callback.attempts
                )
            )
            keep_recent(self.deliveries)
            if (status is None or status >= 300) and callback.attempts < self.callback_attempts:
                at = time.monotonic() + self.retry_delay * callback.attempts
                heapq.heappush(self._queue, _Due(at, next(self._sequence), callback))
                self._wakeup.notify_all()


def _utc(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _digits(phone: str) -> str:
    return re.sub(r"[\s.()-]", "", phone).removeprefix("+")


def _require_text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _missing(name)
    return value


def _recipients(body: dict[str, Any], limit: int) -> list[str]:
    recipients = body.get("recipients")
    if (
        not isinstance(recipients, list)
        or not recipients
        or not all(isinstance(r, str) and PHONE.match(_digits(r)) for r in recipients)
    ):
        raise _missing("recipients")
    if len(recipients) > limit:
        raise _Refusal(422, f"at most {limit} recipients", ["recipients"])
    return recipients


ROUTES = {
    "/system/callback": (frozenset({PARTNER, USER}), BiwaySimulator._register_callback),
    "/client/company": (frozenset({PARTNER}), BiwaySimulator._create_company),
    "/system/account": (frozenset({PARTNER}), BiwaySimulator._create_account),
    "/chatbot/agent": (frozenset({USER}), BiwaySimulator._create_agent),
    "/messenger/rcs-tester": (frozenset({USER}), BiwaySimulator._register_tester),
    "/messenger/template": (frozenset({USER}), BiwaySimulator._create_template),
    "/chatbot/token": (frozenset({USER}), BiwaySimulator._create_chat_token),
    "/messenger/submit": (frozenset({USER}), BiwaySimulator._submit),
    "/messenger/conversation": (frozenset({USER}), BiwaySimulator._conversation),
    "/messenger/broadcast": (frozenset({USER}), BiwaySimulator._broadcast),
}


def main(argv: list[str] | None = None) -> None:
    def options(parser: argparse.ArgumentParser) -> None:
        state_help = "seconds before a state change is reported"
        parser.add_argument("--state-delay", type=float, default=2.0, help=state_help)

    run_standalone(
        "Bi-way/Api simulator (sends callbacks to the registered URL)",
        lambda args: BiwaySimulator(state_delay=args.state_delay, host=args.host, port=args.port),
        lambda simulator: [
            f"Bi-way simulator on {simulator.url}   Authorization: Bearer {DEMO_API_KEY}   agent {DEMO_AGENT_ID}",
            '  register a callback URL first: POST /system/callback {"url": ...}   (Ctrl-C stops)',
        ],
        argv,
        options,
    )


if __name__ == "__main__":
    main()
