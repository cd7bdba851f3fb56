"""Smartico affiliate registration simulator, faithful to Smartico's affiliate registration API document.

One call: `POST /api/register-aff` with a JSON body. Every answer is HTTP 200 with one of the
document's `AffApiErrors` codes, in the body shape this project assumes (the document shows none):
`{"errCode": <code>, "errMsg": "<name>"}`, plus `"affiliate_id"` on success.

Checks, in the order a registration form's back end would run them:
  -2 FORM_NOT_VALID     not a JSON object, a mandatory field missing or empty (first_name, last_name,
                        username, password, bo_user_email, country, tc, hostname, token), tc not true,
                        a malformed e-mail, a language that is not 2 letters, a country not ISO alpha-2
  -5 CANNOT_FIND_AFFILIATE_OPERATOR_BY_HOST   hostname is not one configured for an operator
  -1 BOT                the reCAPTCHA token is refused (`refused_tokens`; `captcha_required=False`
                        is the setup where the account manager disabled the check)
  -3 USERNAME_RULE_NOT_VALID   username shorter than 6 characters
  -9 PASSWORD_STRENGTH  password under 6 characters or without a lowercase, an uppercase or a digit
  -7 USERNAME_ALREADY_EXISTS / -8 EMAIL_ALREADY_EXISTS   (both compared case-insensitively)
  -6 FAIL_IN_REGISTRATION_FLOW   on demand (`fail_flow_next`)
Affiliates with a `manager_id` are approved at once; the others are pending (the document).
"""

from __future__ import annotations

import itertools
import logging
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from local.ports import LOOPBACK
from local.simulators.serving import Answer, RecordedRequest, Simulator, json_object, run_standalone

log = logging.getLogger(__name__)

REGISTER_PATH = "/api/register-aff"
DEMO_HOSTNAME = "aff-demo.smartico.local"
MANDATORY = ("first_name", "last_name", "username", "password", "bo_user_email", "country", "tc", "hostname", "token")
COUNTRY = re.compile(r"^[A-Z]{2}$")
LANGUAGE = re.compile(r"^[A-Za-z]{2}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
FIRST_AFFILIATE_ID = 1001

CODE_NAMES = {
    0: "OK",
    -1: "BOT",
    -2: "FORM_NOT_VALID",
    -3: "USERNAME_RULE_NOT_VALUD",  # sic, as the document spells it
    -5: "CANNOT_FIND_AFFILIATE_OPERATOR_BY_HOST",
    -6: "FAIL_IN_REGISTRATION_FLOW",
    -7: "USERNAME_ALREADY_EXISTS",
    -8: "EMAIL_ALREADY_EXISTS",
    -9: "PASSWORD_STRENGTH",
}


@dataclass
class Affiliate:
    affiliate_id: int
    hostname: str
    username: str
    email: str
    state: str  # "approved" with a manager, else "pending"
    fields: dict[str, Any] = field(default_factory=dict)  # what was sent, without the password


class _Code(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(CODE_NAMES[code])
        self.code = code


def _result(code: int, **extra: Any) -> Answer:
    return Answer(200, {"errCode": code, "errMsg": CODE_NAMES[code], **extra})


def strong_password(password: str) -> bool:
    return (
        len(password) >= 6
        and any(c.islower() for c in password)
        and any(c.isupper() for c in password)
        and any(c.isdigit() for c in password)
    )


class SmarticoSimulator(Simulator):
    """A real HTTP server on 127.0.0.1 that behaves like Smartico's affiliate registration API."""

    name = "smartico"

    def __init__(
        self,
        hostnames: Iterable[str] = (DEMO_HOSTNAME,),
        *,
        captcha_required: bool = True,
        host: str = LOOPBACK,
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        self.hostnames = set(hostnames)
        self.captcha_required = captcha_required
        self.refused_tokens: set[str] = {"bot"}
        self.affiliates: dict[str, Affiliate] = {}  # by lowercased username
        self._flow_failures = 0
        self._scripted: deque[dict[str, Any]] = deque()
        self._ids = itertools.count(FIRST_AFFILIATE_ID)

    # -- test controls -------------------------------------------------------------------------

    def fail_flow_next(self, times: int = 1) -> None:
        """Answer FAIL_IN_REGISTRATION_FLOW (-6) to the next `times` registrations that pass every check."""
        with self._lock:
            self._flow_failures += times

    def answer_next(self, code: int, **fields: Any) -> None:
        """Answer `code` (with `fields`) to the next registration whatever it holds: for the codes the
        gateway's own validation pre-empts (-2, -3, -9) and for codes the document does not list."""
        with self._lock:
            self._scripted.append({"errCode": code, "errMsg": CODE_NAMES.get(code, "UNKNOWN"), **fields})

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.affiliates.clear()
            self._flow_failures = 0
            self._scripted.clear()
            self.refused_tokens = {"bot"}

    def registrations(self) -> int:
        return len(self.calls(REGISTER_PATH))

    # -- protocol ------------------------------------------------------------------------------

    def answer(self, request: RecordedRequest, raw_body: bytes) -> Answer:
        if request.path != REGISTER_PATH:
            return Answer(404, {"error": "not found"})
        if request.method != "POST":
            return Answer(405, {"error": "method not allowed"}, {"Allow": "POST"})
        with self._lock:
            scripted = self._scripted.popleft() if self._scripted else None
        if scripted is not None:
            return Answer(200, scripted)
        try:
            return self._register(json_object(raw_body))
        except _Code as refused:
            return _result(refused.code)

    def _register(self, body: dict[str, Any] | None) -> Answer:
        if body is None:
            raise _Code(-2)
        _check_form(body)
        if body["hostname"] not in self.hostnames:
            raise _Code(-5)
        if self.captcha_required and body["token"] in self.refused_tokens:
            raise _Code(-1)
        if len(body["username"]) < 6:
            raise _Code(-3)
        if not strong_password(body["password"]):
            raise _Code(-9)
        username, email = body["username"].lower(), body["bo_user_email"].lower()
        with self._lock:
            if username in self.affiliates:
                raise _Code(-7)
            if any(a.email == email for a in self.affiliates.values()):
                raise _Code(-8)
            if self._flow_failures:
                self._flow_failures -= 1
                raise _Code(-6)
            affiliate = Affiliate(
                affiliate_id=next(self._ids),
                hostname=body["hostname"],
                username=body["username"],
                email=email,
                state="approved" if body.get("manager_id") is not None else "pending",
                fields={k: v for k, v in body.items() if k != "password"},
            )
            self.affiliates[username] = affiliate
        return _result(0, affiliate_id=affiliate.affiliate_id)


def _check_form(body: dict[str, Any]) -> None:
    for name in MANDATORY:
        value = body.get(name)
        if name == "tc":
            if value is not True:
                raise _Code(-2)
        elif not isinstance(value, str) or not value.strip():
            raise _Code(-2)
    if not EMAIL.match(body["bo_user_email"]) or not COUNTRY.match(body["country"]):
        raise _Code(-2)
    language = body.get("language")
    if language is not None and (not isinstance(language, str) or not LANGUAGE.match(language)):
        raise _Code(-2)
    for name in ("parent_affiliate_id", "manager_id"):
        if body.get(name) is not None and (not isinstance(body[name], int) or isinstance(body[name], bool)):
            raise _Code(-2)
    roles = body.get("extra_role_ids")
    if roles is not None and (not isinstance(roles, list) or not all(isinstance(r, int) for r in roles)):
        raise _Code(-2)


def main(argv: list[str] | None = None) -> None:
    run_standalone(
        "Smartico affiliate registration API simulator",
        lambda args: SmarticoSimulator(host=args.host, port=args.port),
        lambda simulator: [
            f"Smartico simulator on {simulator.url}  (hostname={DEMO_HOSTNAME}; token 'bot' is refused)",
            f"  POST {simulator.url}{REGISTER_PATH}   (Ctrl-C stops)",
        ],
        argv,
    )


if __name__ == "__main__":
    main()
