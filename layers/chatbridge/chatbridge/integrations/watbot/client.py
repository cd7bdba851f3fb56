"""Watbot (CleverApp is the same API on another base URL): contacts, tags, variables, replies.

Watbot's contacts API reference (Russian) and its public API reference: `{base_url}/api/v1/<method>` with
every parameter in the query string, `api_token` among them, and `Accept: application/json` (without
it the Laravel back end answers an unauthenticated call with a redirect to its login page instead
of a JSON 401). getContacts, getContactTags and getContactVariables are GETs; attachTagToContact,
detachTagFromContact, setContactVariable, deleteContactVariable and sendMessage are POSTs (the
document's example deletes a variable with DELETE; the public reference says POST, used here).
The examples concatenate raw strings into the URL; here httpx encodes every value, so spaces, `&`,
Cyrillic text and emoji arrive intact. Limit: 2 requests per second per token, 429 above it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from chatbridge.errors import (
    NotFoundError,
    ProviderAuthError,
    ProviderRejectedError,
    ProviderUnavailableError,
    RateLimitedError,
)
from chatbridge.integrations.http import ProviderClient, body_excerpt, http_pool, provider_said, provider_said_beyond
from chatbridge.integrations.ratelimit import RateLimit
from chatbridge.integrations.webhook_fields import parse_time
from chatbridge.models.base import Model

PROVIDER = "watbot"
DEFAULT_BASE_URL = "https://watbot.ru"
API_PREFIX = "/api/v1/"
# Watbot allows 2 requests/second per token. Calls spaced exactly 0.5 s apart can still reach it
# less than 0.5 s apart (network jitter), so the client keeps a 10 % margin.
RATE_LIMIT = RateLimit(per_second=1.8)
ModelT = TypeVar("ModelT", bound=BaseModel)


class WatbotConnection(Model):
    """Secret `chatbridge/watbot/<connection>`."""

    model_config = ConfigDict(extra="ignore")

    api_token: SecretStr = Field(min_length=1)
    base_url: str = DEFAULT_BASE_URL


# The connection secret's model, as the registry hands it out (connections files, `make secrets`).
CONNECTION = WatbotConnection


def _text(value: Any) -> Any:
    # Watbot answers ids as numbers; ours are strings everywhere.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class WatbotContact(Model):
    """One element of getContacts' `data`."""

    model_config = ConfigDict(extra="ignore")

    id: str
    bot_id: str | None = None
    phone: str | None = None
    email: str | None = None
    name: str | None = None
    messenger: str | None = None
    telegram_id: str | None = None
    telegram_username: str | None = None
    viber_id: str | None = None
    address: str | None = None
    utm: Any = None
    created_at: datetime | None = None

    @field_validator("id", "bot_id", "telegram_id", "viber_id", "phone", mode="before")
    @classmethod
    def _ids_as_text(cls, value: Any) -> Any:
        return _text(value)

    @field_validator("created_at", mode="before")
    @classmethod
    def _utc_time(cls, value: Any) -> datetime | None:
        # Watbot writes `2023-11-14 22:13:20` (UTC, no zone) or Unix seconds; unreadable: left out
        return parse_time(value)


class WatbotTag(Model):
    model_config = ConfigDict(extra="ignore")

    name: str


class WatbotVariable(Model):
    """One element of getContactVariables: `{id, name, value, deletable}`."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    name: str
    value: str | None = None
    deletable: bool = True

    @field_validator("id", "value", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class WatbotContactsQuery(Model):
    """getContacts parameters; `date_from`/`date_to` are Unix times."""

    count: int = Field(default=100, ge=1, le=500)
    page: int = Field(default=1, ge=1)
    date_from: int | None = None
    date_to: int | None = None
    bot_id: str | None = None


class WatbotMessagePayload(Model):
    """sendMessage: `contact_id` with one of `text`, `image` or `file` (a URL)."""

    contact_id: str
    text: str | None = None
    image: str | None = None
    file: str | None = None


class WatbotSentMessage(Model):
    provider_ref: str | None
    body: Any


Method = Literal["GET", "POST"]


class WatbotClient(ProviderClient):
    provider = PROVIDER
    rate_limit = RATE_LIMIT

    def __init__(self, connection: WatbotConnection, http: httpx.Client | None = None) -> None:
        super().__init__(
            http or http_pool.client_for(connection.base_url), credential=connection.api_token.get_secret_value()
        )
        self._token = connection.api_token
        # base_url merged with the prefix by httpx itself, once (then only the operation is appended)
        self._endpoint = str(self._http.build_request("GET", API_PREFIX).url)

    # -- reads -------------------------------------------------------------------------------

    def get_contacts(self, query: WatbotContactsQuery) -> list[WatbotContact]:
        body = self._call("GET", "getContacts", query.model_dump(exclude_none=True))
        return [self._parse(WatbotContact, row) for row in _rows(body)]

    def get_contact_tags(self, contact_id: str) -> list[WatbotTag]:
        body = self._call("GET", "getContactTags", {"contact_id": contact_id})
        return [WatbotTag(name=row) if isinstance(row, str) else self._parse(WatbotTag, row) for row in _rows(body)]

    def get_contact_variables(self, contact_id: str) -> list[WatbotVariable]:
        body = self._call("GET", "getContactVariables", {"contact_id": contact_id})
        return [self._parse(WatbotVariable, row) for row in _rows(body)]

    # -- upserts (the same call twice leaves the same state, so they are retried like reads) ------

    def attach_tag(self, contact_id: str, name: str) -> None:
        self._call("POST", "attachTagToContact", {"contact_id": contact_id, "name": name})

    def detach_tag(self, contact_id: str, name: str) -> None:
        self._call("POST", "detachTagFromContact", {"contact_id": contact_id, "name": name})

    def set_contact_variable(self, contact_id: str, name: str, value: str, *, deletable: bool) -> None:
        params = {"contact_id": contact_id, "name": name, "value": value, "deletable": int(deletable)}
        # The document's example sends the fields both in the URL and as the POST body.
        self._call("POST", "setContactVariable", params, form=params)

    def delete_contact_variable(self, contact_id: str, name: str) -> None:
        self._call("POST", "deleteContactVariable", {"contact_id": contact_id, "name": name})

    # -- sends -----------------------------------------------------------------------------------

    def send_message(self, payload: WatbotMessagePayload) -> WatbotSentMessage:
        body = self._call("POST", "sendMessage", payload.model_dump(exclude_none=True), safe_to_repeat=False)
        return WatbotSentMessage(provider_ref=_message_id(body), body=body)

    # -- plumbing ----------------------------------------------------------------------------

    def _call(
        self,
        method: Method,
        operation: str,
        params: dict[str, Any],
        *,
        form: dict[str, Any] | None = None,
        safe_to_repeat: bool = True,
    ) -> Any:
        # One absolute URL with its query: httpx parses it once, where merging a relative path
        # with base_url and then params parses it three times (a quarter of the client's CPU per
        # call in a fan-out, benchmarks/fanout.py). QueryParams encodes as `params=` would.
        query = httpx.QueryParams({"api_token": self._token.get_secret_value(), **params})
        request = self._http.build_request(
            method,
            f"{self._endpoint}{operation}?{query}",
            data=form,
            headers={"Accept": "application/json"},
        )
        response = self.send(request, operation=operation, safe_to_repeat=safe_to_repeat)
        return self._answer(operation, response)

    def _answer(self, operation: str, response: httpx.Response) -> Any:
        status = response.status_code
        secrets = (self._token,)  # sent in the query string: an echoed URL would carry it
        if 200 <= status < 300:
            try:
                body = response.json() if response.content else {}
            except ValueError as exc:
                raise ProviderUnavailableError(
                    f"Watbot answered {operation} with {status} but not JSON "
                    f"({body_excerpt(response, secrets=secrets)}).",
                    title="Unexpected answer from Watbot",
                    provider=PROVIDER,
                    provider_code=str(status),
                ) from exc
            if isinstance(body, dict) and (body.get("success") is False or body.get("status") == "error"):
                raise ProviderRejectedError(
                    f"Watbot refused {operation}: "
                    f"{provider_said(_message(body), secrets, 300) or body_excerpt(response, secrets=secrets)}.",
                    title="Watbot rejected the request",
                    provider=PROVIDER,
                    provider_code=str(body.get("code", status)),
                )
            return body
        said = provider_said(_message_of(response), secrets, 300) or body_excerpt(response, secrets=secrets)

        def explained(explanation: str) -> str:
            # our explanation, then Watbot's message unless it only repeats the status (`Not Found`)
            detail = f"Watbot answered {status} to {operation}: {explanation}"
            beyond = provider_said_beyond(said, detail, status).rstrip(".")
            return f"{detail}. Watbot said: {beyond}." if beyond else f"{detail}."

        if status in (401, 403):
            raise ProviderAuthError(
                f"Watbot answered {status} to {operation}: the connection's api_token was refused. "
                "Check the secret of this connection.",
                title="Watbot refused our credentials",
                provider=PROVIDER,
                provider_code=str(status),
            )
        if status == 404:
            raise NotFoundError(
                explained("the contact or what it names does not exist"),
                title="Watbot does not know this contact",
                provider=PROVIDER,
                provider_code="404",
            )
        if status in (400, 422):
            raise ProviderRejectedError(
                explained("the input was refused"),
                title="Watbot rejected the request",
                provider=PROVIDER,
                provider_code=str(status),
            )
        if status == 429:
            raise RateLimitedError(
                f"Watbot answered 429 to {operation} after our retries: more than its 2 requests per second "
                "reached it with this api_token. Retry in a few seconds.",
                provider=PROVIDER,
                provider_code="429",
            )
        raise ProviderUnavailableError(
            f"Watbot answered {status} to {operation} ({body_excerpt(response, secrets=secrets)}).",
            title="Watbot is unavailable" if status >= 500 else "Unexpected answer from Watbot",
            provider=PROVIDER,
            provider_code=str(status),
        )

    @staticmethod
    def _parse(model: type[ModelT], row: Any) -> ModelT:
        try:
            return model.model_validate(row)
        except ValidationError as exc:
            raise ProviderUnavailableError(
                f"Watbot answered a {model.__name__} this gateway cannot read.",
                title="Unexpected answer from Watbot",
                provider=PROVIDER,
            ) from exc


def _rows(body: Any) -> list[Any]:
    """Lists come bare (`[...]`) or wrapped (`{"data": [...]}`), depending on the method."""
    rows = body.get("data") if isinstance(body, dict) else body
    if isinstance(rows, dict):
        rows = rows.get("data", rows.get("items"))
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise ProviderUnavailableError(
            "Watbot answered a list call without a list.", title="Unexpected answer from Watbot", provider=PROVIDER
        )
    return rows


def _message(body: dict[str, Any]) -> str:
    message = body.get("message") or body.get("error") or ""
    return str(message)


def _message_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return _message(body) if isinstance(body, dict) else ""


def _message_id(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    data = body.get("data")
    for source in (data if isinstance(data, dict) else {}, body):
        for key in ("message_id", "id"):
            value = source.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool):
                return str(value)
    return None
