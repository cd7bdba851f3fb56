"""Bi-way (Pocket Communication): partner and user services of the Bi-way/Api guide.

The guide names the services and their flow, nothing more: partner services `/system/callback`,
`/client/company`, `/system/account`; user services `/chatbot/agent`, `/messenger/rcs-tester`,
`/messenger/template`, `/chatbot/token`, `/messenger/submit`, `/messenger/conversation`,
`/messenger/broadcast`. Created companies, accounts, agents and testers wait "en attente de
vérification" and their state changes arrive on the registered callback URL.

So the payloads are loose (`extra="allow"`: whatever else the caller sends is forwarded), only the
fields we rely on are required, and answers are kept whole. Auth: `Authorization: Bearer <api_key>`.
Answers are read as JSON objects whose `id` is Bi-way's reference of what was created; refusals as
HTTP statuses (400/422 input, 404 unknown reference, 409 duplicate, 401/403 credentials).
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import ConfigDict, Field, SecretStr

from chatbridge.errors import (
    ChatbridgeError,
    ProviderAuthError,
    ProviderConflictError,
    ProviderRejectedError,
    ProviderUnavailableError,
    RateLimitedError,
)
from chatbridge.integrations.http import ProviderClient, http_pool, provider_said_beyond
from chatbridge.models.base import Model

PROVIDER = "biway"
# Bi-way publishes no public address: each connection's secret carries its base_url.
CALLBACK_PATH = "/system/callback"
COMPANY_PATH = "/client/company"
ACCOUNT_PATH = "/system/account"
TESTER_PATH = "/messenger/rcs-tester"
AGENT_PATH = "/chatbot/agent"
TEMPLATE_PATH = "/messenger/template"
CHAT_TOKEN_PATH = "/chatbot/token"  # noqa: S105 - a path, not a secret
SUBMIT_PATH = "/messenger/submit"
CONVERSATION_PATH = "/messenger/conversation"
BROADCAST_PATH = "/messenger/broadcast"
REFERENCE_FIELDS = ("id", "reference", "uuid")


class BiwayConnection(Model):
    """Secret `chatbridge/biway/<connection>`: a partner account or a user (standard) account."""

    model_config = ConfigDict(extra="ignore")

    api_key: SecretStr = Field(min_length=1)
    base_url: str = Field(min_length=1)


# The connection secret's model, as the registry hands it out (connections files, `make secrets`).
CONNECTION = BiwayConnection


class BiwayPayload(Model):
    """Bi-way payloads: the fields we require are typed, anything else is forwarded as sent."""

    model_config = ConfigDict(extra="allow")

    def wire_body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class BiwayCallbackPayload(BiwayPayload):
    url: str = Field(min_length=1, description="Where Bi-way posts state changes and reports.")
    token: str | None = Field(default=None, description="Shared secret of the callback (also in the URL).")


class BiwayCompanyPayload(BiwayPayload):
    name: str = Field(min_length=1)
    siret: str = Field(min_length=1)


class BiwayAccountPayload(BiwayPayload):
    email: str = Field(min_length=3)


class BiwayTesterPayload(BiwayPayload):
    agent_id: str = Field(min_length=1)
    phone: str = Field(min_length=1)


class BiwayAgentPayload(BiwayPayload):
    name: str = Field(min_length=1)


class BiwayTemplatePayload(BiwayPayload):
    name: str = Field(min_length=1)


class BiwayChatTokenPayload(BiwayPayload):
    agent_id: str = Field(min_length=1)


class BiwaySubmitPayload(BiwayPayload):
    recipient: str = Field(min_length=1)


class BiwayConversationPayload(BiwayPayload):
    recipients: list[str] = Field(min_length=1)


class BiwayBroadcastPayload(BiwayPayload):
    recipients: list[str] = Field(min_length=1)


class BiwayAnswer(Model):
    status_code: int
    reference: str | None = Field(description="Bi-way's id of what the call created, when it gave one.")
    body: dict[str, Any] = Field(default_factory=dict)


class BiwayClient(ProviderClient):
    provider = PROVIDER

    def __init__(self, connection: BiwayConnection, http: httpx.Client | None = None) -> None:
        super().__init__(http or http_pool.client_for(connection.base_url))
        self._api_key = connection.api_key

    # Registering the callback URL sets it: doing it twice leaves the same URL, so it may be repeated.
    def register_callback(self, payload: BiwayCallbackPayload) -> BiwayAnswer:
        return self._post(CALLBACK_PATH, payload, operation="callback", safe_to_repeat=True)

    # Everything below creates something or sends a message: repeated only when it never left.
    def create_company(self, payload: BiwayCompanyPayload) -> BiwayAnswer:
        return self._post(COMPANY_PATH, payload, operation="company", safe_to_repeat=False)

    def create_account(self, payload: BiwayAccountPayload) -> BiwayAnswer:
        return self._post(ACCOUNT_PATH, payload, operation="account", safe_to_repeat=False)

    def register_tester(self, payload: BiwayTesterPayload) -> BiwayAnswer:
        return self._post(TESTER_PATH, payload, operation="rcs-tester", safe_to_repeat=False)

    def create_agent(self, payload: BiwayAgentPayload) -> BiwayAnswer:
        return self._post(AGENT_PATH, payload, operation="agent", safe_to_repeat=False)

    def create_template(self, payload: BiwayTemplatePayload) -> BiwayAnswer:
        return self._post(TEMPLATE_PATH, payload, operation="template", safe_to_repeat=False)

    def create_chat_token(self, payload: BiwayChatTokenPayload) -> BiwayAnswer:
        return self._post(CHAT_TOKEN_PATH, payload, operation="chat-token", safe_to_repeat=False)

    def submit(self, payload: BiwaySubmitPayload) -> BiwayAnswer:
        return self._post(SUBMIT_PATH, payload, operation="submit", safe_to_repeat=False)

    def conversation(self, payload: BiwayConversationPayload) -> BiwayAnswer:
        return self._post(CONVERSATION_PATH, payload, operation="conversation", safe_to_repeat=False)

    def broadcast(self, payload: BiwayBroadcastPayload) -> BiwayAnswer:
        return self._post(BROADCAST_PATH, payload, operation="broadcast", safe_to_repeat=False)

    def _post(self, path: str, payload: BiwayPayload, *, operation: str, safe_to_repeat: bool) -> BiwayAnswer:
        request = self._http.build_request(
            "POST",
            path,
            json=payload.wire_body(),
            headers={"Authorization": f"Bearer {self._api_key.get_secret_value()}", "accept": "application/json"},
        )
        response = self.send(request, operation=operation, safe_to_repeat=safe_to_repeat)
        return _answer(response, path, secrets=(self._api_key,))


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        parsed = response.json()
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _reference(body: dict[str, Any]) -> str | None:
    for name in REFERENCE_FIELDS:
        value = body.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


def _answer(response: httpx.Response, path: str, secrets: tuple[SecretStr, ...] = ()) -> BiwayAnswer:
    status = response.status_code
    body = _json_object(response)
    if 200 <= status < 300:
        return BiwayAnswer(status_code=status, reference=_reference(body or {}), body=body or {})
    raise _refusal(status, body, path, secrets)


def _message(body: dict[str, Any] | None) -> str:
    for name in ("error", "message", "detail"):
        value = (body or {}).get(name)
        if isinstance(value, str) and value:
            return value
    return ""


def _refusal(status: int, body: dict[str, Any] | None, path: str, secrets: tuple[SecretStr, ...]) -> ChatbridgeError:
    code = str(status)

    def said(explanation: str) -> str:
        # Bi-way's message, unless it only repeats the status (`"error": "Conflict"` with a 409)
        beyond = provider_said_beyond(_message(body), explanation, code, secrets)
        return f"{explanation} Bi-way said: {beyond}" if beyond else explanation

    if status in (400, 422):
        return ProviderRejectedError(
            said(f"Bi-way answered {status} to {path}: the input was refused."),
            title="Bi-way rejected the request",
            provider=PROVIDER,
            provider_code=code,
        )
    if status == 404:
        return ProviderRejectedError(
            said(f"Bi-way answered 404 to {path}: a referenced resource does not exist."),
            title="Bi-way does not know a referenced resource",
            provider=PROVIDER,
            provider_code=code,
        )
    if status == 409:
        return ProviderConflictError(
            said(f"Bi-way answered 409 to {path}: it already holds this resource."),
            title="Bi-way reports a duplicate",
            provider=PROVIDER,
            provider_code=code,
        )
    if status in (401, 403):
        return ProviderAuthError(
            said(f"Bi-way answered {status} to {path}: the connection's api_key was refused or lacks this right."),
            title="Bi-way refused our credentials",
            provider=PROVIDER,
            provider_code=code,
        )
    if status == 429:
        return RateLimitedError(
            f"Bi-way kept answering 429 to {path} (rate limited); try again later.",
            title="Bi-way is rate limiting us",
            provider=PROVIDER,
            provider_code=code,
        )
    return ProviderUnavailableError(
        said(f"Bi-way answered {status} to {path}."),
        title="Bi-way is unavailable" if status >= 500 else "Unexpected answer from Bi-way",
        provider=PROVIDER,
        provider_code=code,
    )
