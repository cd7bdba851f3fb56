"""Imbee REST API simulator, faithful to Imbee's REST API document.

`virtual_user` and `celullar` are spelled as Imbee spells them on the wire.

Three calls, all POST with `Content-Type: application/json`, `Authorization: <auth>` and
`X-WOOS-KEY`, all answered with the envelope `{time, code, message, body}` (`time` a float of
seconds; code 0 processed, 1 error):

- `/third_parties/user/new` (X-WOOS-KEY: corporate token) {uniqueIdSha, platform, deviceName,
  hardwareId, osVersion} -> {virtualUser, pass, apikey, previously_registered}; the same
  uniqueIdSha again gives the same user with previously_registered true.
- `/token/new` (corporate token) {virtual_user, bot_idsha, mail, celullar, max_retries, date_limit}
  -> {url, user_idsha, date_limit, max_retries, previously_created}; mail or celullar is needed,
  date_limit is YYYY-MM-DD; without them the defaults apply (30 days, 10 retries). The same user
  and bot again, while the token is valid, give the same token with previously_created true.
- `/chat/create` (X-WOOS-KEY: the opening user's own apikey, never the corporate token)
  {type: "chat", contacts: [{idsha}]} -> {contacts: [{idsha, isadmin}], conversationId,
  previously_created}; the opener is the admin; the same members again give the same chat.

The document does not say how credentials are refused: here a wrong `Authorization` or
`X-WOOS-KEY` is HTTP 401 with the envelope's code 1. Input errors are HTTP 200 with code 1.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from local.ports import LOOPBACK
from local.simulators.serving import Answer, RecordedRequest, Simulator, json_object, media_type, run_standalone

log = logging.getLogger(__name__)

USER_PATH = "/third_parties/user/new"
TOKEN_PATH = "/token/new"
CHAT_PATH = "/chat/create"
DEMO_AUTH = "imbee-demo-auth"
DEMO_CORPORATE_TOKEN = "imbee-demo-corporate-token"
DEFAULT_TOKEN_DAYS = 30
DEFAULT_MAX_RETRIES = 10
USER_FIELDS = ("platform", "deviceName", "hardwareId", "osVersion")


@dataclass
class ImbeeUserRecord:
    unique_id_sha: str
    virtual_user: str
    password: str
    apikey: str
    device: dict[str, Any] = field(default_factory=dict)


@dataclass
class AccessToken:
    url: str
    user_idsha: str
    date_limit: date
    max_retries: int


@dataclass
class Chat:
    conversation_id: str
    contacts: list[dict[str, Any]]


class _Refusal(Exception):
    def __init__(self, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ImbeeSimulator(Simulator):
    """A real HTTP server on 127.0.0.1 that behaves like Imbee's REST API."""

    name = "imbee"

    def __init__(
        self,
        auth: str = DEMO_AUTH,
        corporate_token: str = DEMO_CORPORATE_TOKEN,
        *,
        web_url: str = "https://web.imbee.local",
        host: str = LOOPBACK,
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        self.auth = auth
        self.corporate_token = corporate_token
        self.web_url = web_url
        self.users: dict[str, ImbeeUserRecord] = {}  # by uniqueIdSha
        self.tokens: dict[tuple[str, str], AccessToken] = {}  # by (virtual user, bot_idsha)
        self.chats: dict[frozenset[str], Chat] = {}  # by member set
        self._scripted: deque[Answer] = deque()

    def answer_next(self, code: int, message: str = "Error", body: Any = None, *, status: int = 200) -> None:
        """Answer this envelope to the next call whatever it holds (e.g. code 1 for a refusal the
        document does not detail, or a code 0 without the fields it promises)."""
        with self._lock:
            self._scripted.append(Answer(status, {"time": 0.0001, "code": code, "message": message, "body": body}))

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.users.clear()
            self.tokens.clear()
            self.chats.clear()
            self._scripted.clear()

    def user(self, unique_id_sha: str) -> ImbeeUserRecord | None:
        with self._lock:
            return self.users.get(unique_id_sha)

    # -- protocol ------------------------------------------------------------------------------

    def answer(self, request: RecordedRequest, raw_body: bytes) -> Answer:
        started = time.perf_counter()
        method, headers = request.method, request.headers
        services = {USER_PATH: self._new_user, TOKEN_PATH: self._new_token, CHAT_PATH: self._new_chat}
        service = services.get(request.path)
        if service is None:
            return Answer(404, _envelope(started, 1, "Not found", None))
        if method != "POST":
            return Answer(405, _envelope(started, 1, "Method not allowed", None), {"Allow": "POST"})
        with self._lock:
            scripted = self._scripted.popleft() if self._scripted else None
        if scripted is not None:
            return scripted
        try:
            if headers.get("authorization") != self.auth:
                raise _Refusal("Invalid Authorization", status=401)
            woos_key = headers.get("x-woos-key", "")
            if media_type(headers) != "application/json":
                raise _Refusal("Content-Type must be application/json")
            body = json_object(raw_body)
            if body is None:
                raise _Refusal("The body must be a JSON object")
            return Answer(200, _envelope(started, 0, "Ok", service(woos_key, body)))
        except _Refusal as refusal:
            return Answer(refusal.status, _envelope(started, 1, refusal.message, None))

    def _corporate(self, woos_key: str) -> None:
        if woos_key != self.corporate_token:
            raise _Refusal("Invalid X-WOOS-KEY", status=401)

    def _new_user(self, woos_key: str, body: dict[str, Any]) -> dict[str, Any]:
        self._corporate(woos_key)
        unique_id = _text(body, "uniqueIdSha")
        device = {name: body[name] for name in USER_FIELDS if body.get(name) is not None}
        with self._lock:
            user = self.users.get(unique_id)
            previously = user is not None
            if user is None:
                virtual_user = hashlib.sha1(f"{self.corporate_token}|{unique_id}".encode()).hexdigest()
                user = ImbeeUserRecord(
                    unique_id, virtual_user, secrets.token_urlsafe(12), secrets.token_hex(16), device
                )
                self.users[unique_id] = user
        return {
            "virtualUser": user.virtual_user,
            "pass": user.password,
            "apikey": user.apikey,
            "previously_registered": previously,
        }

    def _find_user(self, idsha: str) -> ImbeeUserRecord | None:
        """By virtualUser (what Imbee hands out) or by the uniqueIdSha it was created from."""
        with self._lock:
            return self.users.get(idsha) or next((u for u in self.users.values() if u.virtual_user == idsha), None)

    def _new_token(self, woos_key: str, body: dict[str, Any]) -> dict[str, Any]:
        self._corporate(woos_key)
        virtual_user = _text(body, "virtual_user")
        bot = _text(body, "bot_idsha")
        if not body.get("mail") and not body.get("celullar"):
            raise _Refusal("mail or celullar is required")
        max_retries = body.get("max_retries", DEFAULT_MAX_RETRIES)
        if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 1:
            raise _Refusal("max_retries must be a positive number")
        today = datetime.now(UTC).date()
        date_limit = today + timedelta(days=DEFAULT_TOKEN_DAYS)
        if body.get("date_limit") is not None:
            try:
                date_limit = date.fromisoformat(str(body["date_limit"]))
            except ValueError as exc:
                raise _Refusal("date_limit must be YYYY-MM-DD") from exc
            if date_limit < today:
                raise _Refusal("date_limit is in the past")
        user = self._find_user(virtual_user)
        if user is None:
            raise _Refusal("User not found")
        with self._lock:
            existing = self.tokens.get((user.virtual_user, bot))
            previously = existing is not None and existing.date_limit >= today
            if existing is None or not previously:
                existing = AccessToken(
                    url=f"{self.web_url}/access?token={secrets.token_urlsafe(16)}",
                    user_idsha=user.virtual_user,
                    date_limit=date_limit,
                    max_retries=max_retries,
                )
                self.tokens[(user.virtual_user, bot)] = existing
        return {
            "url": existing.url,
            "user_idsha": existing.user_idsha,
            "date_limit": existing.date_limit.isoformat(),
            "max_retries": existing.max_retries,
            "previously_created": previously,
        }

    def _new_chat(self, woos_key: str, body: dict[str, Any]) -> dict[str, Any]:
        if woos_key == self.corporate_token:
            raise _Refusal("X-WOOS-KEY must be the apikey of the user opening the chat", status=401)
        with self._lock:
            opener = next((u for u in self.users.values() if u.apikey == woos_key), None)
        if opener is None:
            raise _Refusal("Invalid X-WOOS-KEY", status=401)
        if body.get("type") != "chat":
            raise _Refusal("type must be chat")
        contacts = body.get("contacts")
        if not isinstance(contacts, list) or not contacts:
            raise _Refusal("contacts can not be empty")
        others: list[str] = []
        for contact in contacts:
            idsha = contact.get("idsha") if isinstance(contact, dict) else None
            if not isinstance(idsha, str) or not idsha:
                raise _Refusal("every contact needs an idsha")
            member = self._find_user(idsha)
            if member is None:
                raise _Refusal(f"Contact {idsha} not found")
            if member.virtual_user != opener.virtual_user and member.virtual_user not in others:
                others.append(member.virtual_user)
        if not others:
            raise _Refusal("a chat needs another user")
        members = frozenset([opener.virtual_user, *others])
        with self._lock:
            chat = self.chats.get(members)
            previously = chat is not None
            if chat is None:
                chat = Chat(
                    conversation_id=secrets.token_hex(12),
                    contacts=[
                        {"idsha": opener.virtual_user, "isadmin": 1},
                        *({"idsha": other, "isadmin": 0} for other in others),
                    ],
                )
                self.chats[members] = chat
        return {"contacts": chat.contacts, "conversationId": chat.conversation_id, "previously_created": previously}


def _envelope(started: float, code: int, message: str, body: Any) -> dict[str, Any]:
    return {"time": round(time.perf_counter() - started, 5), "code": code, "message": message, "body": body}


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _Refusal(f"{name} can not be null or empty")
    return value


def main(argv: list[str] | None = None) -> None:
    run_standalone(
        "Imbee REST API simulator",
        lambda args: ImbeeSimulator(host=args.host, port=args.port),
        lambda simulator: [
            f"Imbee simulator on {simulator.url}",
            f"  Authorization: {DEMO_AUTH}   X-WOOS-KEY: {DEMO_CORPORATE_TOKEN}   (Ctrl-C stops)",
        ],
        argv,
    )


if __name__ == "__main__":
    main()
