"""Imbee: external users, web access tokens and chats.

Document: every call is a POST with `Content-Type: application/json`, `Authorization: <auth>` and
`X-WOOS-KEY`, and every answer is the envelope `{time, code, message, body}` (code 0 processed,
1 error; other codes may exist per service). `X-WOOS-KEY` is the corporate token, except for
`/chat/create`, which is made on behalf of a user with that user's own `apikey`.

- `/third_parties/user/new` {uniqueIdSha, platform, deviceName, hardwareId, osVersion}
  -> {virtualUser, pass, apikey, previously_registered}
- `/token/new` {virtual_user, bot_idsha, mail, celullar, max_retries, date_limit}
  -> {url, user_idsha, date_limit, max_retries, previously_created}
- `/chat/create` {type: "chat", contacts: [{idsha}]} -> {contacts: [{idsha, isadmin}], conversationId,
  previously_created}

The document does not say how Imbee refuses credentials; an HTTP 401/403 is taken as that. An
HTTP 5xx is Imbee's failure (502) whatever its envelope's code says; below that the envelope code
is read whatever the HTTP status (code 1: the request was refused, 422).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Literal, TypeVar

import httpx
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from chatbridge.errors import ChatbridgeError, ProviderAuthError, ProviderRejectedError, ProviderUnavailableError
from chatbridge.integrations.http import ProviderClient, http_pool, provider_said_beyond
from chatbridge.models.base import Model

PROVIDER = "imbee"
# The document says the host "will be provided by Imbee": there is no public default.
USER_PATH = "/third_parties/user/new"
TOKEN_PATH = "/token/new"  # noqa: S105 - a path, not a secret
CHAT_PATH = "/chat/create"
AnswerT = TypeVar("AnswerT", bound=BaseModel)


class ImbeeConnection(Model):
    """Secret `chatbridge/imbee/<connection>`: `myAuth`, `myCorporateToken` and the host."""

    model_config = ConfigDict(extra="ignore")

    auth: SecretStr = Field(min_length=1)
    corporate_token: SecretStr = Field(min_length=1)
    base_url: str = Field(min_length=1, description="https://HOST, as provided by Imbee.")


# The connection secret's model, as the registry hands it out (connections files, `make secrets`).
CONNECTION = ImbeeConnection


class ImbeeEnvelope(Model):
    model_config = ConfigDict(extra="ignore")

    time: float | None = None
    code: int
    message: str | None = None
    body: Any = None


# -- payloads (exactly the document's field names, including its spellings) -----------------


class ImbeeUserRequest(Model):
    model_config = ConfigDict(populate_by_name=True)

    unique_id_sha: str = Field(alias="uniqueIdSha", min_length=1)
    platform: str | None = None
    device_name: str | None = Field(default=None, alias="deviceName")
    hardware_id: str | None = Field(default=None, alias="hardwareId")
    os_version: str | None = Field(default=None, alias="osVersion")


class ImbeeTokenRequest(Model):
    """`celullar` is spelled so on the wire; the parameter list's `virutal_user` is a typo of the document."""

    virtual_user: str = Field(min_length=1)
    bot_idsha: str = Field(min_length=1)
    mail: str | None = None
    celullar: str | None = None
    max_retries: int | None = Field(default=None, ge=1)
    date_limit: date | None = None

    @model_validator(mode="after")
    def _mail_or_celullar(self) -> ImbeeTokenRequest:
        if not self.mail and not self.celullar:
            raise ValueError("mail or celullar is required (they are optional, but not both)")
        return self


class ImbeeChatContact(Model):
    idsha: str = Field(min_length=1)


class ImbeeChatRequest(Model):
    type: Literal["chat"] = "chat"
    contacts: list[ImbeeChatContact] = Field(min_length=1)


# -- answers ----------------------------------------------------------------------------------


class ImbeeUser(Model):
    """The user Imbee created; `pass` and `apikey` are credentials and never leave the gateway."""

    model_config = ConfigDict(populate_by_name=True)

    virtual_user: str = Field(validation_alias=AliasChoices("virtualUser", "virtual_user"), min_length=1)
    pass_: SecretStr = Field(validation_alias=AliasChoices("pass", "pass_"))
    apikey: SecretStr
    previously_registered: bool = False


class ImbeeToken(Model):
    url: str
    user_idsha: str | None = None
    date_limit: str | None = None
    max_retries: int | None = None
    previously_created: bool = False


class ImbeeChatMember(Model):
    model_config = ConfigDict(extra="allow")

    idsha: str
    isadmin: int | bool = 0


class ImbeeChat(Model):
    contacts: list[ImbeeChatMember] = Field(default_factory=list)
    conversation_id: str = Field(validation_alias=AliasChoices("conversationId", "conversation_id"), min_length=1)
    previously_created: bool = False


class ImbeeClient(ProviderClient):
    provider = PROVIDER

    def __init__(self, connection: ImbeeConnection, http: httpx.Client | None = None) -> None:
        super().__init__(http or http_pool.client_for(connection.base_url))
        self._auth = connection.auth
        self._corporate_token = connection.corporate_token

    def create_external_user(self, request: ImbeeUserRequest) -> ImbeeUser:
        body = request.model_dump(mode="json", by_alias=True, exclude_none=True)
        # Creating a user twice answers previously_registered with the same user: safe to repeat.
        envelope = self._post(USER_PATH, body, self._corporate_token, operation="user-new", safe_to_repeat=True)
        return _body_as(ImbeeUser, envelope, "user")

    def create_access_token(self, request: ImbeeTokenRequest) -> ImbeeToken:
        body = request.model_dump(mode="json", exclude_none=True)
        # Each token may send an e-mail or an SMS to the user: not repeated after a timeout.
        envelope = self._post(TOKEN_PATH, body, self._corporate_token, operation="token-new", safe_to_repeat=False)
        return _body_as(ImbeeToken, envelope, "access token")

    def create_chat(self, user_apikey: SecretStr, request: ImbeeChatRequest) -> ImbeeChat:
        body = request.model_dump(mode="json", exclude_none=True)
        # The chat is opened by its first member: X-WOOS-KEY is that user's apikey, never the corporate token.
        # Asking again answers the same conversation, but `previously_created`: after a lost answer it would
        # say the chat existed when the lost attempt created it. So not repeated: recorded `unknown`, and
        # resolved by a later request's previously_created (imbee.messaging).
        envelope = self._post(CHAT_PATH, body, user_apikey, operation="chat-create", safe_to_repeat=False)
        return _body_as(ImbeeChat, envelope, "chat")

    def _post(
        self, path: str, body: dict[str, Any], woos_key: SecretStr, *, operation: str, safe_to_repeat: bool
    ) -> ImbeeEnvelope:
        request = self._http.build_request(
            "POST",
            path,
            json=body,
            headers={
                "Authorization": self._auth.get_secret_value(),
                "X-WOOS-KEY": woos_key.get_secret_value(),
                "accept": "application/json",
            },
        )
        response = self.send(request, operation=operation, safe_to_repeat=safe_to_repeat)
        return _envelope_of(response, path, secrets=(self._auth, self._corporate_token, woos_key))


def _envelope_of(response: httpx.Response, path: str, secrets: tuple[SecretStr, ...] = ()) -> ImbeeEnvelope:
    status = response.status_code
    try:
        envelope: ImbeeEnvelope | None = ImbeeEnvelope.model_validate(response.json())
    except (ValueError, ValidationError):
        envelope = None
    message = envelope.message if envelope else None

    def said(detail: str, code: str | int) -> str:
        # Imbee's message, unless it only repeats the code or the status
        beyond = provider_said_beyond(message, detail, code, secrets)
        return f"{detail} Imbee said: {beyond}" if beyond else detail

    if status in (401, 403):
        raise ProviderAuthError(
            said(f"Imbee answered {status} to {path}: the connection's auth or X-WOOS-KEY was refused.", status),
            title="Imbee refused our credentials",
            provider=PROVIDER,
            provider_code=str(envelope.code if envelope else status),
        )
    if status >= 500:
        # Imbee's own failure, whatever code its envelope carries (it says 1, "error", for anything).
        raise _http_failure(status, path, said)
    if envelope is None:
        raise ProviderUnavailableError(
            f"Imbee answered {status} to {path} without its response envelope.",
            title="Unexpected answer from Imbee",
            provider=PROVIDER,
            provider_code=str(status),
        )
    if envelope.code != 0:
        raise _refusal(envelope, path, said)
    if status >= 300:
        raise _http_failure(status, path, said)
    return envelope


def _http_failure(status: int, path: str, said: Callable[[str, str | int], str]) -> ProviderUnavailableError:
    return ProviderUnavailableError(
        said(f"Imbee answered HTTP {status} to {path}.", status),
        title="Imbee is unavailable" if status >= 500 else "Unexpected answer from Imbee",
        provider=PROVIDER,
        provider_code=str(status),
    )


def _refusal(envelope: ImbeeEnvelope, path: str, said: Callable[[str, str | int], str]) -> ChatbridgeError:
    return ProviderRejectedError(
        said(f"Imbee answered code {envelope.code} to {path}: the request was not processed.", envelope.code),
        title="Imbee rejected the request",
        provider=PROVIDER,
        provider_code=str(envelope.code),
    )


def _body_as(model: type[AnswerT], envelope: ImbeeEnvelope, what: str) -> AnswerT:
    try:
        return model.model_validate(envelope.body)
    except ValidationError as exc:
        # Field names only: the body of a user answer holds credentials.
        fields = ", ".join(sorted({".".join(str(p) for p in err["loc"]) or "body" for err in exc.errors()}))
        raise ProviderUnavailableError(
            f"Imbee answered code 0 without a usable {what} ({fields}).",
            title="Unexpected answer from Imbee",
            provider=PROVIDER,
            provider_code="0",
        ) from exc
