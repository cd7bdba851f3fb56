"""Imbee's public request models, with their OpenAPI examples."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from chatbridge.models.base import Model
from chatbridge.models.fields import MAX_CONVERSATION_RECIPIENTS, ConnectionName, Identifier, Phone, Text


class ImbeeRegistrationRequest(Model):
    """Create an external user at Imbee (`POST /third_parties/user/new`).

    Imbee answers with the user's `pass` and `apikey`: they are stored encrypted, used to open
    chats on the user's behalf, and never returned.
    """

    model_config = ConfigDict(
        extra="forbid",
        defer_build=True,
        title="ImbeeRegistration",
        json_schema_extra={
            "examples": [
                {
                    "provider": "imbee",
                    "unique_id_sha": "5d41402abc4b2a76b9719d911017c592",
                    "platform": "web",
                    "device_name": "chatbot",
                    "hardware_id": "hw-0001",
                    "os_version": "1.0",
                }
            ]
        },
    )

    provider: Literal["imbee"]
    connection: ConnectionName = "default"
    unique_id_sha: Identifier = Field(
        description="Your unique identifier of the user (sent as `uniqueIdSha`); also its `user_id` here."
    )
    platform: Text | None = Field(default=None, description="Sent as `platform`.")
    device_name: Text | None = Field(default=None, description="Sent as `deviceName`.")
    hardware_id: Text | None = Field(default=None, description="Sent as `hardwareId`.")
    os_version: Text | None = Field(default=None, description="Sent as `osVersion`.")


class ImbeeConversationRequest(Model):
    """Open an Imbee chat (`POST /chat/create`) on behalf of a user registered through this gateway."""

    model_config = ConfigDict(
        defer_build=True,
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


class ImbeeChatTokenRequest(Model):
    """A web access token for an Imbee virtual user (`POST /token/new`), sent by mail and/or SMS."""

    model_config = ConfigDict(
        defer_build=True,
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


REGISTRATION_REQUEST = ImbeeRegistrationRequest
MESSAGING_REQUESTS: dict[str, type[BaseModel]] = {
    "conversations": ImbeeConversationRequest,
    "chat-tokens": ImbeeChatTokenRequest,
}
# What the API reference says of this provider, per operation.
NOTES: dict[str, str] = {
    "registrations": (
        "creates an external user (201), or 200 when Imbee says it was `previously_registered`. The user's "
        "`pass` and `apikey` are stored encrypted and never returned."
    ),
    "conversations": (
        "`/chat/create`, opened with the first user's own apikey (from their registration); an existing chat is a 200."
    ),
    "chat-tokens": "`/token/new`, sent to the user by mail and/or SMS; an existing token is a 200.",
}
