"""Watbot (CleverApp) contacts API simulator: contacts, tags, variables and replies, stateful.

Faithful to Watbot's contacts API reference (Russian) and its public API reference: `/api/v1/<method>`, the
`api_token` and every other parameter read from the query string or a form/JSON body (the Laravel
back end merges them), JSON answers when the client sends `Accept: application/json` and a redirect
to the login page when it does not and the token is refused, 404 for an unknown contact, 422 with
`errors` for missing fields, and 429 above 2 requests per second per token (sliding one-second
window, `Retry-After: 1`). deleteContactVariable answers POST (the public reference) and DELETE
(the document's example).

Answer shapes follow the public reference where it gives them (getContacts `{"data": [...]}`, getContactVariables
a bare list); the others are small JSON objects of our own. Tests drive failures, latency and the
rate limit through Python (`fail_next`, `latency`, `rate_limit`), not through HTTP.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.ports import LOOPBACK
from local.simulators.serving import Answer, RecordedRequest, Refusal, Simulator, run_standalone

API_PREFIX = "/api/v1/"
DEFAULT_RATE_LIMIT = 2  # requests per second per api_token (Watbot's public limit)
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


def _invalid(field_name: str, message: str) -> Refusal:
    return Refusal(Answer(422, {"message": message, "errors": {field_name: [message]}}))


class WatbotSimulator(Simulator):
    """A real HTTP server on 127.0.0.1 that behaves like Watbot's contacts API."""

    name = "watbot"
    routes = {API_PREFIX + method: verbs for method, verbs in METHODS.items()}
    refuse_malformed_bodies = True  # Laravel parses the body before routing
    error_field = "message"
    not_found = "Not Found"
    not_allowed = "The {method} method is not supported for this route."
    bad_framing = "Bad Request"
    log_level = logging.DEBUG  # the fan-out benchmark would flood the console

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
        super().__init__(host, port)
        self.tokens = set(tokens or {DEMO_TOKEN})
        self.rate_limit = rate_limit  # requests per second per token; None for no limit
        self.latency = latency  # seconds added to every answer
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}
        self._ids = itertools.count(1)
        self.contacts: dict[int, Contact] = {}

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

    def reset(self) -> None:
        """Forget contacts, recorded requests, rate windows and pending controls."""
        super().reset()
        with self._lock:
            self._calls.clear()
            self.contacts.clear()

    def calls(self, operation: str) -> list[RecordedRequest]:
        return super().calls(API_PREFIX + operation)

    # -- protocol ------------------------------------------------------------------------------
    # The query string and a form or JSON body are merged (`RecordedRequest.params`); `fail_next`
    # and `delay_next` apply after the token and rate checks (`admit`).

    def admit(self, request: RecordedRequest) -> None:
        token = self._authenticate(request.params.get("api_token"), request.headers.get("accept", ""))
        self._count_call(token)

    def answer(self, request: RecordedRequest, raw_body: bytes) -> Answer:
        with self._lock:
            return self._dispatch(request.operation, request.params)

    def _authenticate(self, token: str | None, accept: str) -> str:
        if token and token in self.tokens:
            return token
        if "json" not in accept.lower():
            # Laravel sends a browser that is not logged in to its login page.
            raise Refusal(Answer(302, "", {"Location": "/login"}, content_type="text/html; charset=UTF-8"))
        raise Refusal(Answer(401, {"message": "Unauthenticated."}))

    def _count_call(self, token: str) -> None:
        if self.rate_limit is None:
            return
        now = self._clock()
        with self._lock:
            window = self._calls.setdefault(token, deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= self.rate_limit:
                raise Refusal(
                    Answer(
                        429,
                        {"message": "Too Many Attempts."},
                        {"Retry-After": "1", "X-RateLimit-Limit": f"{self.rate_limit:g}", "X-RateLimit-Remaining": "0"},
                    )
                )
            window.append(now)

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
            raise Refusal(Answer(404, {"message": "Contact not found."}))
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
    def options(parser: argparse.ArgumentParser) -> None:
        rate_help = "requests/s per token; 0: none"
        parser.add_argument("--rate-limit", type=float, default=DEFAULT_RATE_LIMIT, help=rate_help)
        parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
        parser.add_argument("--token", default=DEMO_TOKEN, help="the api_token it accepts")

    def create(args: argparse.Namespace) -> WatbotSimulator:
        simulator = WatbotSimulator(
            {args.token}, rate_limit=args.rate_limit or None, latency=args.latency, host=args.host, port=args.port
        )
        seed_demo_contacts(simulator)
        return simulator

    def banner(simulator: WatbotSimulator) -> list[str]:
        (token,) = simulator.tokens
        return [
            f"Watbot simulator on {simulator.url}   api_token={token}   contacts {sorted(simulator.contacts)}",
            f"  GET {simulator.url}{API_PREFIX}getContacts?api_token={token}   (Ctrl-C stops)",
        ]

    run_standalone("Watbot contacts API simulator (demo contacts)", create, banner, argv, options)


if __name__ == "__main__":
    main()
