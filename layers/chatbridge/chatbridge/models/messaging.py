"""Messaging resources as the API returns them. The request bodies, one per provider, are in
`chatbridge.models.requests` (built from the registry)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from chatbridge.models.base import Model


class StatusChangeView(Model):
    status: str
    at: datetime
    event_id: str | None = None
    recipient: str | None = None


class Message(Model):
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
    recipient_counts: dict[str, int] | None = Field(
        default=None,
        description="Broadcasts and conversations: recipients per status (those no callback reported on are "
        "in the message's own status, `accepted` at first). `status` is derived from them: `failed` when every "
        "recipient failed (failed, rejected, expired), `partially_failed` when some did, otherwise the least "
        "advanced status any recipient is in. GET /v1/messages/{id} pages the recipients themselves.",
    )
    created_at: datetime
    updated_at: datetime


class MessagePage(Model):
    items: list[Message]
    next_token: str | None = Field(default=None, description="Pass back as `next_token` for the next page.")


class RecipientStatus(Model):
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


class MessageOutcome(Model):
    """What the logic returns; also what an idempotent replay returns."""

    created: bool
    message: Message
    url: str | None = None
    # The problem detail when the provider's outcome is unknown: the message is stored `unknown`
    # and the answer is a 504 naming it (kept in the idempotency record, replayed as is).
    outcome_unknown: str | None = None
