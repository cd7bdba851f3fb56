"""SmartRegion (Wi-Fi presence): bot user registration.

Document: POST {base_url}/registration with `accept` and `Content-Type: application/json` and the
project's access token as `X-API-KEY`. 201 registered, 200 registration updated, 404 channel or
project not found, 403 authorization error, 400 missing or wrong required parameter.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import ConfigDict, Field, SecretStr

from chatbridge.errors import ProviderAuthError, ProviderRejectedError, ProviderUnavailableError
from chatbridge.integrations.http import ProviderClient, body_excerpt, http_pool, provider_said_beyond
from chatbridge.models.base import Model

PROVIDER = "smartregion"
DEFAULT_BASE_URL = "https://api.smartregion.online"


class SmartRegionConnection(Model):
    """Secret `chatbridge/smartregion/<connection>`."""

    model_config = ConfigDict(extra="ignore")

    api_key: SecretStr = Field(min_length=1)
    project_id: str = Field(min_length=1)
    channel_id: str = Field(min_length=1)
    base_url: str = DEFAULT_BASE_URL


# The connection secret's model, as the registry hands it out (connections files, `make secrets`).
CONNECTION = SmartRegionConnection


class SmartRegionRegistrationPayload(Model):
    """Exactly the body the document shows."""

    channel_id: str
    project_id: str
    payload: str
    user_field: dict[str, Any] | None = None
    user_id: str


class SmartRegionRegistrationAnswer(Model):
    outcome: Literal["created", "updated"]
    status_code: int


class SmartRegionClient(ProviderClient):
    provider = PROVIDER

    def __init__(self, connection: SmartRegionConnection, http: httpx.Client | None = None) -> None:
        super().__init__(http or http_pool.client_for(connection.base_url))
        self._api_key = connection.api_key

    def register_user(self, payload: SmartRegionRegistrationPayload) -> SmartRegionRegistrationAnswer:
        request = self._http.build_request(
            "POST",
            "/registration",
            json=payload.model_dump(mode="json", exclude_none=True),
            headers={"accept": "application/json", "X-API-KEY": self._api_key.get_secret_value()},
        )
        # Registering the same user again only updates it (the document's 200), so repeating is safe.
        response = self.send(request, operation="registration", safe_to_repeat=True)
        return self._answer(response)

    def _answer(self, response: httpx.Response) -> SmartRegionRegistrationAnswer:
        status = response.status_code
        excerpt = body_excerpt(response, secrets=(self._api_key,))

        def said(detail: str) -> str:
            # the body, in parentheses, unless it only repeats the status (`Not Found` with a 404)
            beyond = provider_said_beyond(excerpt, detail, status)
            return f"{detail} ({beyond})." if beyond else f"{detail}."

        if status == 201:
            return SmartRegionRegistrationAnswer(outcome="created", status_code=status)
        if status == 200:
            return SmartRegionRegistrationAnswer(outcome="updated", status_code=status)
        if status == 404:
            raise ProviderRejectedError(
                said("SmartRegion answered 404: the channel or project was not found"),
                title="SmartRegion does not know this channel or project",
                provider=PROVIDER,
                provider_code="404",
            )
        if status == 400:
            raise ProviderRejectedError(
                said("SmartRegion answered 400: a required parameter is missing or wrong"),
                title="SmartRegion rejected the registration",
                provider=PROVIDER,
                provider_code="400",
            )
        if status in (401, 403):
            raise ProviderAuthError(
                f"SmartRegion answered {status}: the connection's api_key (X-API-KEY) was refused. "
                "Check the secret of this connection.",
                title="SmartRegion refused our credentials",
                provider=PROVIDER,
                provider_code=str(status),
            )
        raise ProviderUnavailableError(
            said(f"SmartRegion answered {status}"),
            title="SmartRegion is unavailable" if status >= 500 else "Unexpected answer from SmartRegion",
            provider=PROVIDER,
            provider_code=str(status),
        )
