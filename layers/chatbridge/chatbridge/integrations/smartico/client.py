"""Smartico (affiliates): the affiliate registration API.

Document: POST {base_url}/api/register-aff with a JSON body (hostname, first_name, last_name,
bo_user_email, username, password, country, tc, token mandatory; the rest optional). The answer
is one of the `AffApiErrors` codes: 0 OK, -1 BOT, -2 FORM_NOT_VALID, -3 USERNAME_RULE_NOT_VALID,
-5 CANNOT_FIND_AFFILIATE_OPERATOR_BY_HOST, -6 FAIL_IN_REGISTRATION_FLOW, -7 USERNAME_ALREADY_EXISTS,
-8 EMAIL_ALREADY_EXISTS, -9 PASSWORD_STRENGTH.

Assumption (the document does not show the response body): a JSON object carrying the code as
`errCode` and a message as `errMsg`, plus the new affiliate's id as `affiliate_id` when Smartico
gives one, e.g. `{"errCode": 0, "errMsg": "OK", "affiliate_id": 123}`. The common spellings of
those fields are accepted, and a missing id is not an error.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import AliasChoices, ConfigDict, Field, SecretStr, ValidationError

from chatbridge.errors import (
    ChatbridgeError,
    ProviderAuthError,
    ProviderConflictError,
    ProviderRejectedError,
    ProviderUnavailableError,
)
from chatbridge.integrations.http import ProviderClient, http_pool, provider_said, provider_said_beyond
from chatbridge.models.base import Model

PROVIDER = "smartico"
DEFAULT_BASE_URL = "https://boapi.smartico.ai"
REGISTER_PATH = "/api/register-aff"


class SmarticoConnection(Model):
    """Secret `chatbridge/smartico/<connection>`."""

    model_config = ConfigDict(extra="ignore")

    hostname: str = Field(min_length=1, description="Exactly the hostname configured in Smartico BackOffice.")
    base_url: str = DEFAULT_BASE_URL


# The connection secret's model, as the registry hands it out (connections files, `make secrets`).
CONNECTION = SmarticoConnection


class SmarticoAffiliatePayload(Model):
    """Exactly the body the document shows, with its optional parameters."""

    hostname: str
    first_name: str
    last_name: str
    bo_user_email: str
    username: str
    password: SecretStr
    country: str
    tc: bool
    token: str
    language: str | None = None
    phone_number: str | None = None
    skype: str | None = None
    company: str | None = None
    web_site_url: str | None = None
    comments: str | None = None
    parent_affiliate_id: int | None = None
    manager_id: int | None = None
    contact_fb: str | None = None
    contact_vk: str | None = None
    contact_telegram: str | None = None
    extra_role_ids: list[int] | None = None
    ext_affiliate_id: str | None = None

    def wire_body(self) -> dict[str, Any]:
        body = self.model_dump(mode="json", exclude_none=True, exclude={"password"})
        body["password"] = self.password.get_secret_value()
        return body


class SmarticoAnswer(Model):
    """The assumed answer body (see the module docstring)."""

    model_config = ConfigDict(extra="ignore")

    err_code: int = Field(validation_alias=AliasChoices("errCode", "err_code", "errorCode", "error_code", "code"))
    err_msg: str | None = Field(
        default=None, validation_alias=AliasChoices("errMsg", "err_msg", "errorMessage", "message")
    )
    affiliate_id: int | str | None = Field(
        default=None, validation_alias=AliasChoices("affiliate_id", "affiliateId", "aff_id", "affId", "id")
    )


class SmarticoAffiliate(Model):
    affiliate_id: str | None
    message: str | None = None


# AffApiErrors -> (problem class, title, what the client can do). Titles say what Smartico meant.
ERROR_CODES: dict[int, tuple[type[ChatbridgeError], str, str]] = {
    -1: (
        ProviderRejectedError,
        "Smartico flagged the registration as a bot",
        "The reCAPTCHA token was refused (BOT); get a fresh token from the registration page.",
    ),
    -2: (
        ProviderRejectedError,
        "Smartico found the registration form invalid",
        "Smartico answered FORM_NOT_VALID: a mandatory field is missing or malformed.",
    ),
    -3: (
        ProviderRejectedError,
        "Smartico refused the username",
        "Smartico answered USERNAME_RULE_NOT_VALID: the username must have at least 6 characters.",
    ),
    -5: (
        ProviderAuthError,
        "Smartico does not know the connection's hostname",
        "Smartico answered CANNOT_FIND_AFFILIATE_OPERATOR_BY_HOST: the `hostname` of this connection's secret "
        "must match exactly the one configured in Smartico BackOffice.",
    ),
    -6: (
        ProviderUnavailableError,
        "Smartico failed to complete the registration",
        "Smartico answered FAIL_IN_REGISTRATION_FLOW; try again later.",
    ),
    -7: (
        ProviderConflictError,
        "Username already registered at Smartico",
        "Smartico answered USERNAME_ALREADY_EXISTS: choose another username.",
    ),
    -8: (
        ProviderConflictError,
        "E-mail already registered at Smartico",
        "Smartico answered EMAIL_ALREADY_EXISTS: bo_user_email belongs to another affiliate.",
    ),
    -9: (
        ProviderRejectedError,
        "Smartico found the password too weak",
        "Smartico answered PASSWORD_STRENGTH: at least 6 characters with a lowercase letter, an uppercase "
        "letter and a digit.",
    ),
}


class SmarticoClient(ProviderClient):
    provider = PROVIDER

    def __init__(self, connection: SmarticoConnection, http: httpx.Client | None = None) -> None:
        super().__init__(http or http_pool.client_for(connection.base_url))

    def register_affiliate(self, payload: SmarticoAffiliatePayload) -> SmarticoAffiliate:
        request = self._http.build_request(
            "POST", REGISTER_PATH, json=payload.wire_body(), headers={"accept": "application/json"}
        )
        # A second attempt of a registration that went through answers USERNAME_ALREADY_EXISTS:
        # only a request that never left (or a 429) is repeated.
        response = self.send(request, operation="register-aff", safe_to_repeat=False)
        # errMsg can echo the request: what we sent as secret never reaches our answers or logs.
        return self._affiliate(response, secrets=(payload.password, payload.token))

    def _affiliate(self, response: httpx.Response, secrets: tuple[SecretStr | str, ...]) -> SmarticoAffiliate:
        answer = _answer_of(response)
        if answer is None:
            raise _http_failure(response)
        if answer.err_code == 0:
            ref = None if answer.affiliate_id in (None, "") else str(answer.affiliate_id)
            return SmarticoAffiliate(affiliate_id=ref, message=provider_said(answer.err_msg, secrets) or None)
        known = ERROR_CODES.get(answer.err_code)
        if known is None:
            detail = f"Smartico answered the undocumented code {answer.err_code}."
            raise ProviderUnavailableError(
                _with_said(detail, answer, secrets),
                title="Unexpected answer from Smartico",
                provider=PROVIDER,
                provider_code=str(answer.err_code),
            )
        error_class, title, detail = known
        raise error_class(
            _with_said(detail, answer, secrets), title=title, provider=PROVIDER, provider_code=str(answer.err_code)
        )


def _with_said(detail: str, answer: SmarticoAnswer, secrets: tuple[SecretStr | str, ...]) -> str:
    """Our explanation (naming the code once), and errMsg when it says more than the code's name."""
    said = provider_said_beyond(answer.err_msg, detail, answer.err_code, secrets)
    return f"{detail} Smartico said: {said}" if said else detail


def _answer_of(response: httpx.Response) -> SmarticoAnswer | None:
    try:
        return SmarticoAnswer.model_validate(response.json())
    except (ValueError, ValidationError):
        return None


def _http_failure(response: httpx.Response) -> ChatbridgeError:
    status = response.status_code
    if status in (401, 403):
        return ProviderAuthError(
            f"Smartico answered {status} to the registration.",
            title="Smartico refused the request",
            provider=PROVIDER,
            provider_code=str(status),
        )
    # The message of an unreadable answer is not echoed: it may repeat what we sent.
    return ProviderUnavailableError(
        f"Smartico answered {status} without an error code.",
        title="Smartico is unavailable" if status >= 500 else "Unexpected answer from Smartico",
        provider=PROVIDER,
        provider_code=str(status),
    )
