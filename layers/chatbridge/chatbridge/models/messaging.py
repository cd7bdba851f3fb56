"""Messaging requests (one variant per provider, discriminated on `provider`) and resources.

Bi-way publishes nothing beyond its guide (DESIGN section 7), so its variants type only what the
gateway relies on and accept any other field (`extra="allow"`), forwarded to Bi-way as sent.
Imbee and Watbot variants are exact: an unknown field is a 422.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from chatbridge.models.registrations import ConnectionName

Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ().-]{3,30}$"),
    Field(description="Phone number, preferably E.164 (`+33670000000`)."),
]
Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
# Sent to Bi-way with the request: the gateway's own fields are not Bi-way's.
GATEWAY_FIELDS = frozenset({"provider", "connection"})
MAX_CONVERSATION_RECIPIENTS = 50
MAX_BROADCAST_RECIPIENTS = 10_000


class _BiwayRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    provider: Literal["biway"]
    connection: ConnectionName = "default"

    def provider_fields(self) -> dict[str, Any]:
        """What Bi-way receives: every field but the gateway's own."""
        return self.model_dump(mode="json", exclude=set(GATEWAY_FIELDS), exclude_none=True)


def _distinct(recipients: list[str]) -> list[str]:
    if len(set(recipients)) != len(recipients):
        raise ValueError("recipients must be distinct")
    return recipients


# -- POST /v1/messages -------------------------------------------------------------------------


class BiwayMessageRequest(_BiwayRequest):
    """Send a message to one recipient with Bi-way (`POST /messenger/submit`)."""

    model_config = ConfigDict(
        title="BiwayMessage",
        json_schema_extra={
            "examples": [
                {"provider": "biway", "recipient": "+33670000000", "text": "Bonjour ! Votre commande est prête."}
            ]
        },
    )

    recipient: Phone


class WatbotMessageRequest(BaseModel):
    """Reply to a Watbot contact (`sendMessage`): exactly one of `text`, `image` or `file`."""

    model_config = ConfigDict(
        extra="forbid",
        title="WatbotMessage",
        json_schema_extra={"examples": [{"provider": "watbot", "contact_id": "1542", "text": "Здравствуйте! 👋"}]},
    )

    provider: Literal["watbot"]
    connection: ConnectionName = "default"
    contact_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    text: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = None
    image: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2048)] | None = None
    file: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2048)] | None = None

    @model_validator(mode="after")
    def _exactly_one_content(self) -> WatbotMessageRequest:
        given = [name for name in ("text", "image", "file") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of text, image or file")
        return self


MessageRequest = Annotated[BiwayMessageRequest | WatbotMessageRequest, Field(discriminator="provider")]
MESSAGE_PROVIDERS = ("biway", "watbot")


# -- POST /v1/broadcasts -----------------------------------------------------------------------


class BiwayBroadcastRequest(_BiwayRequest):
    """Mass send with Bi-way (`POST /messenger/broadcast`)."""

    model_config = ConfigDict(
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


# A single variant cannot carry a discriminator; a second provider turns this into a union.
BroadcastRequest = BiwayBroadcastRequest
BROADCAST_PROVIDERS = ("biway",)


# -- POST /v1/conversations --------------------------------------------------------------------


class BiwayConversationRequest(_BiwayRequest):
    """Send to a few recipients with Bi-way (`POST /messenger/conversation`)."""

    model_config = ConfigDict(
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


class ImbeeConversationRequest(BaseModel):
    """Open an Imbee chat (`POST /chat/create`) on behalf of a user registered through this gateway."""

    model_config = ConfigDict(
        extra="forbid",
        title="ImbeeConversation",
        json_schema_extra={
            "examples": [
                {
                    "provider": "imbee",
                    "registration_id": "0d4f1e1e-8a7b-5c55-9d36-2b0d8f0f5a11",
                    "contacts": ["idShaValue_user2"],
                }
            ]
        },
    )

    provider: Literal["imbee"]
    connection: ConnectionName = "default"
    registration_id: Identifier = Field(
        description="The Imbee registration (POST /v1/registrations) of the user who opens the chat."
    )
    contacts: Annotated[list[Identifier], Field(min_length=1, max_length=MAX_CONVERSATION_RECIPIENTS)] = Field(
        description="The Imbee idsha (virtual users) of the other members."
    )

    @model_validator(mode="after")
    def _distinct_contacts(self) -> ImbeeConversationRequest:
        if len(set(self.contacts)) != len(self.contacts):
            raise ValueError("contacts must be distinct")
        return self


ConversationRequest = Annotated[BiwayConversationRequest | ImbeeConversationRequest, Field(discriminator="provider")]
CONVERSATION_PROVIDERS = ("biway", "imbee")


# -- POST /v1/chat-tokens ----------------------------------------------------------------------


class BiwayChatTokenRequest(_BiwayRequest):
    """A chat token for a Bi-way chat environment (`POST /chatbot/token`); its use reports `read`."""

    model_config = ConfigDict(
        title="BiwayChatToken",
        json_schema_extra={"examples": [{"provider": "biway", "agent_id": "agt_8c1f", "recipient": "+33670000000"}]},
    )

    agent_id: Identifier = Field(description="The Bi-way agent (chat environment), e.g. from POST /v1/agents.")


class ImbeeChatTokenRequest(BaseModel):
    """A web access token for an Imbee virtual user (`POST /token/new`), sent by mail and/or SMS."""

    model_config = ConfigDict(
        extra="forbid",
        title="ImbeeChatToken",
        json_schema_extra={
            "examples": [
                {
                    "provider": "imbee",
                    "virtual_user": "idShaValue_user1",
                    "bot_idsha": "bot_identifier",
                    "mail": "user@example.org",
                    "max_retries": 10,
                    "date_limit": "2026-12-31",
                }
            ]
        },
    )

    provider: Literal["imbee"]
    connection: ConnectionName = "default"
    virtual_user: Identifier = Field(description="The user's idsha (Imbee's `virtual_user`).")
    bot_idsha: Identifier
    mail: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    cellular: Phone | None = Field(default=None, description="Sent to Imbee as `celullar` (its spelling).")
    max_retries: int | None = Field(default=None, ge=1, le=10_000, description="How many times the token works.")
    date_limit: date | None = Field(default=None, description="Last day the token is valid (YYYY-MM-DD).")

    @model_validator(mode="after")
    def _mail_or_cellular(self) -> ImbeeChatTokenRequest:
        if not self.mail and not self.cellular:
            raise ValueError("give mail or cellular (or both): Imbee sends the token there")
        return self


ChatTokenRequest = Annotated[BiwayChatTokenRequest | ImbeeChatTokenRequest, Field(discriminator="provider")]
CHAT_TOKEN_PROVIDERS = ("biway", "imbee")


# -- POST /v1/templates, POST /v1/agents -------------------------------------------------------


class BiwayTemplateRequest(_BiwayRequest):
    """A reusable Bi-way message template (`POST /messenger/template`)."""

    model_config = ConfigDict(
        title="BiwayTemplate",
        json_schema_extra={
            "examples": [{"provider": "biway", "name": "rappel-rdv", "text": "Rappel : rendez-vous le {{date}}."}]
        },
    )

    name: Name


TemplateRequest = BiwayTemplateRequest
TEMPLATE_PROVIDERS = ("biway",)


class BiwayAgentRequest(_BiwayRequest):
    """A Bi-way chat environment (`POST /chatbot/agent`), pending verification until a callback says otherwise."""

    model_config = ConfigDict(
        title="BiwayAgent",
        json_schema_extra={"examples": [{"provider": "biway", "name": "Boulangerie Martin", "description": "SAV"}]},
    )

    name: Name


AgentRequest = BiwayAgentRequest
AGENT_PROVIDERS = ("biway",)

ALL_MESSAGING_PROVIDERS = ("biway", "imbee", "watbot")


# -- resources ---------------------------------------------------------------------------------


class StatusChangeView(BaseModel):
    status: str
    at: datetime
    event_id: str | None = None
    recipient: str | None = None


class Message(BaseModel):
    """A message, broadcast, conversation, chat token, template or agent, with its status history."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "5b0f7c1e-2f7e-4d6a-9a55-8f1d8e7c2a10",
                "provider": "biway",
                "connection": "default",
                "kind": "submit",
                "status": "delivered",
                "provider_ref": "msg_01HF7Y",
                "recipients": 1,
                "recipient": "+33670000000",
                "details": {"request": {"text": "Bonjour !"}},
                "status_history": [
                    {"status": "accepted", "at": "2026-11-27T10:00:00Z"},
                    {
                        "status": "delivered",
                        "at": "2026-11-27T10:00:03Z",
                        "event_id": "8d2c",
                        "recipient": "+33670000000",
                    },
                ],
                "created_at": "2026-11-27T10:00:00Z",
                "updated_at": "2026-11-27T10:00:03Z",
            }
        }
    )

    id: str
    provider: str
    connection: str
    kind: str = Field(
        description="submit, conversation, broadcast (Bi-way), message (Watbot), chat, access_token (Imbee), "
        "chat_token, template, agent (Bi-way)"
    )
    status: str
    provider_ref: str | None = None
    recipients: int = Field(description="How many recipients the request named.")
    recipient: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    status_history: list[StatusChangeView] = Field(description="Oldest first.")
    created_at: datetime
    updated_at: datetime


class RecipientStatus(BaseModel):
    recipient: str
    status: str
    at: datetime
    status_history: list[StatusChangeView]


class MessageDetail(Message):
    """`GET /v1/messages/{id}`: the message, and for multi-recipient sends a page of recipients."""

    recipient_statuses: list[RecipientStatus] = Field(
        default_factory=list, description="Recipients a callback reported on; the others are still `accepted`."
    )
    next_token: str | None = Field(default=None, description="Pass back as `next_token` for more recipients.")


class ChatToken(Message):
    """A created chat token: `url` is in this answer (and its Idempotency-Key replays), never in the stored record."""

    url: str | None = Field(default=None, description="Where the user opens the chat; share it with that user only.")


class MessageOutcome(BaseModel):
    """What the logic returns; also what an idempotent replay returns."""

    created: bool
    message: Message
    url: str | None = None
