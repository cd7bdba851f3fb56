"""Bi-way's public request models, with their OpenAPI examples.

Bi-way publishes nothing beyond its guide, so its variants type only what the gateway relies on;
messaging variants accept any other field (`extra="allow"`), forwarded to Bi-way as sent.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from chatbridge.models.base import Model
from chatbridge.models.fields import (
    MAX_CONVERSATION_RECIPIENTS,
    ConnectionName,
    CountryCode,
    Email,
    Identifier,
    Name,
    Phone,
    PhoneDigits,
    ProviderAttributes,
    Text,
    WebUrl,
)

BIWAY_ATTRIBUTES_DESCRIPTION = (
    "Further fields forwarded to Bi-way as they are (its guide publishes no field list); "
    "the typed fields above win over a key of the same name."
)


class BiwayCompanyRegistrationRequest(Model):
    """Create an establishment record (fiche établissement) from the partner account (`POST /client/company`).

    Bi-way places it in pending verification; the state changes arrive as callbacks.
    """

    model_config = ConfigDict(
        extra="forbid",
        defer_build=True,
        title="BiwayCompanyRegistration",
        json_schema_extra={
            "examples": [
                {
                    "provider": "biway",
                    "kind": "company",
                    "name": "Boulangerie Martin",
                    "siret": "73282932000074",
                    "address": "12 rue de la Paix",
                    "postal_code": "75002",
                    "city": "Paris",
                    "country": "FR",
                    "email": "contact@boulangerie-martin.fr",
                }
            ]
        },
    )

    provider: Literal["biway"]
    kind: Literal["company"]
    connection: ConnectionName = Field(default="default", description="A Bi-way partner connection.")
    name: Text
    siret: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{14}$")] = Field(
        description="The establishment's SIRET (14 digits); also its `user_id` here."
    )
    address: Text | None = None
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)] | None = None
    city: Text | None = None
    country: CountryCode | None = None
    phone: PhoneDigits | None = None
    email: Email | None = None
    website: WebUrl | None = None
    attributes: ProviderAttributes | None = Field(default=None, description=BIWAY_ATTRIBUTES_DESCRIPTION)


class BiwayAccountRegistrationRequest(Model):
    """Create a user account from the partner account (`POST /system/account`).

    Bi-way places it in pending verification (and may require an activation); the state changes
    arrive as callbacks.
    """

    model_config = ConfigDict(
        extra="forbid",
        defer_build=True,
        title="BiwayAccountRegistration",
        json_schema_extra={
            "examples": [
                {
                    "provider": "biway",
                    "kind": "account",
                    "email": "jeanne.martin@boulangerie-martin.fr",
                    "first_name": "Jeanne",
                    "last_name": "Martin",
                    "company_id": "cmp_5f0c2d",
                }
            ]
        },
    )

    provider: Literal["biway"]
    kind: Literal["account"]
    connection: ConnectionName = Field(default="default", description="A Bi-way partner connection.")
    email: Email = Field(description="The account's login e-mail; also its `user_id` here.")
    first_name: Text | None = None
    last_name: Text | None = None
    phone: PhoneDigits | None = None
    company_id: Text | None = Field(default=None, description="Bi-way's id of the account's establishment.")
    attributes: ProviderAttributes | None = Field(default=None, description=BIWAY_ATTRIBUTES_DESCRIPTION)


class BiwayTesterRegistrationRequest(Model):
    """Register an RCS tester of an active chat environment (`POST /messenger/rcs-tester`).

    Bi-way sends a special RCS message the person accepts by hand; until then the tester is
    pending, and the state changes arrive as callbacks.
    """

    model_config = ConfigDict(
        extra="forbid",
        defer_build=True,
        title="BiwayTesterRegistration",
        json_schema_extra={
            "examples": [{"provider": "biway", "kind": "tester", "agent_id": "agt_demo", "phone": "+33670000000"}]
        },
    )

    provider: Literal["biway"]
    kind: Literal["tester"]
    connection: ConnectionName = Field(default="default", description="A Bi-way user (standard) connection.")
    agent_id: Text = Field(description="Bi-way's id of the active chat environment (agent) to test.")
    phone: PhoneDigits = Field(
        description="The tester's mobile number, international format; stored as digits only "
        "(`+33 6 70 00 00 00` -> `33670000000`), which is its `user_id` here."
    )
    attributes: ProviderAttributes | None = Field(default=None, description=BIWAY_ATTRIBUTES_DESCRIPTION)


BiwayRegistrationRequest = Annotated[
    BiwayCompanyRegistrationRequest | BiwayAccountRegistrationRequest | BiwayTesterRegistrationRequest,
    Field(discriminator="kind"),
]


# Sent to Bi-way with the request: the gateway's own fields are not Bi-way's.
GATEWAY_FIELDS = frozenset({"provider", "connection"})
MAX_BROADCAST_RECIPIENTS = 10_000


class _BiwayRequest(Model):
    model_config = ConfigDict(defer_build=True, extra="allow")

    provider: Literal["biway"]
    connection: ConnectionName = "default"

    def provider_fields(self) -> dict[str, Any]:
        """What Bi-way receives: every field but the gateway's own."""
        return self.model_dump(mode="json", exclude=set(GATEWAY_FIELDS), exclude_none=True)


def _distinct(recipients: list[str]) -> list[str]:
    if len(set(recipients)) != len(recipients):
        raise ValueError("recipients must be distinct")
    return recipients


class BiwayMessageRequest(_BiwayRequest):
    """Send a message to one recipient with Bi-way (`POST /messenger/submit`)."""

    model_config = ConfigDict(
        defer_build=True,
        title="BiwayMessage",
        json_schema_extra={
            "examples": [
                {"provider": "biway", "recipient": "+33670000000", "text": "Bonjour ! Votre commande est prête."}
            ]
        },
    )

    recipient: Phone


class BiwayBroadcastRequest(_BiwayRequest):
    """Mass send with Bi-way (`POST /messenger/broadcast`)."""

    model_config = ConfigDict(
        defer_build=True,
        title="BiwayBroadcast",
        json_schema_extra={
            "examples": [
                {
                    "provider": "biway",
                    "recipients": ["+33670000000", "+33670000001", "+33670000002"],
                    "text": "Soldes d'hiver : -30 % ce week-end.",
                }
            ]
        },
    )

    recipients: Annotated[list[Phone], Field(min_length=1, max_length=MAX_BROADCAST_RECIPIENTS)]

    @model_validator(mode="after")
    def _distinct_recipients(self) -> BiwayBroadcastRequest:
        _distinct(self.recipients)
        return self


class BiwayConversationRequest(_BiwayRequest):
    """Send to a few recipients with Bi-way (`POST /messenger/conversation`)."""

    model_config = ConfigDict(
        defer_build=True,
        title="BiwayConversation",
        json_schema_extra={
            "examples": [
                {"provider": "biway", "recipients": ["+33670000000", "+33670000001"], "text": "Rendez-vous à 10 h."}
            ]
        },
    )

    recipients: Annotated[list[Phone], Field(min_length=1, max_length=MAX_CONVERSATION_RECIPIENTS)]

    @model_validator(mode="after")
    def _distinct_recipients(self) -> BiwayConversationRequest:
        _distinct(self.recipients)
        return self


class BiwayChatTokenRequest(_BiwayRequest):
    """A chat token for a Bi-way chat environment (`POST /chatbot/token`); its use reports `read`."""

    model_config = ConfigDict(
        defer_build=True,
        title="BiwayChatToken",
        json_schema_extra={"examples": [{"provider": "biway", "agent_id": "agt_8c1f", "recipient": "+33670000000"}]},
    )

    agent_id: Identifier = Field(description="The Bi-way agent (chat environment), e.g. from POST /v1/agents.")


class BiwayTemplateRequest(_BiwayRequest):
    """A reusable Bi-way message template (`POST /messenger/template`)."""

    model_config = ConfigDict(
        defer_build=True,
        title="BiwayTemplate",
        json_schema_extra={
            "examples": [{"provider": "biway", "name": "rappel-rdv", "text": "Rappel : rendez-vous le {{date}}."}]
        },
    )

    name: Name


class BiwayAgentRequest(_BiwayRequest):
    """A Bi-way chat environment (`POST /chatbot/agent`), pending verification until a callback says otherwise."""

    model_config = ConfigDict(
        defer_build=True,
        title="BiwayAgent",
        json_schema_extra={"examples": [{"provider": "biway", "name": "Boulangerie Martin", "description": "SAV"}]},
    )

    name: Name


REGISTRATION_REQUEST = BiwayRegistrationRequest
MESSAGING_REQUESTS: dict[str, type[BaseModel]] = {
    "messages": BiwayMessageRequest,
    "broadcasts": BiwayBroadcastRequest,
    "conversations": BiwayConversationRequest,
    "chat-tokens": BiwayChatTokenRequest,
    "templates": BiwayTemplateRequest,
    "agents": BiwayAgentRequest,
}
# What the API reference says of this provider, per operation.
NOTES: dict[str, str] = {
    "registrations": (
        "`kind` `company` or `account` (partner connection) or `tester` (user connection); 201 with status "
        "`pending_verification` until Bi-way's callback says otherwise."
    ),
    "messages": "`/messenger/submit` (status updates arrive by callback).",
    "broadcasts": (
        "`/messenger/broadcast`: one record for the request; each recipient's status is recorded as callbacks"
        " report it, and read with GET /v1/messages/{id}."
    ),
    "conversations": "`/messenger/conversation`.",
    "chat-tokens": "`/chatbot/token` (using it reports `read`).",
    "templates": "`/messenger/template`.",
    "agents": "`/chatbot/agent`: pending verification by the operators until a callback says otherwise.",
}
