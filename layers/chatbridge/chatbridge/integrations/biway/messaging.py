"""Bi-way messaging steps: submit, conversation, broadcast, chat token, template, agent.

Bi-way's answers are kept (`details.provider_answer`) since nothing public says which of their
fields matter, except what a chat token answers: its URL opens the chat, so it is answered once
and never stored. A state in the answer (`state` or `status`) becomes the first status through
the status vocabulary; without one, a send starts `accepted` and an agent `pending_verification`
(the guide: "placé en attente de vérification").
"""

from __future__ import annotations

from typing import Any

from chatbridge.clock import utc_now
from chatbridge.integrations.biway.client import (
    PROVIDER,
    BiwayAgentPayload,
    BiwayAnswer,
    BiwayBroadcastPayload,
    BiwayChatTokenPayload,
    BiwayClient,
    BiwayConnection,
    BiwayConversationPayload,
    BiwaySubmitPayload,
    BiwayTemplatePayload,
)
from chatbridge.integrations.biway.requests import (
    BiwayAgentRequest,
    BiwayBroadcastRequest,
    BiwayChatTokenRequest,
    BiwayConversationRequest,
    BiwayMessageRequest,
    BiwayTemplateRequest,
)
from chatbridge.integrations.interface import Dispatched, Step
from chatbridge.message_statuses import our_status
from chatbridge.secrets import load_connection
from chatbridge.store.items import MessageItem, StatusChange

# Fields of a chat token answer that grant access to the chat.
CHAT_ACCESS_FIELDS = ("url", "chat_url", "link", "token")


def _client(connection: str) -> BiwayClient:
    return BiwayClient(load_connection(PROVIDER, connection, BiwayConnection))


def _first_status(answer: BiwayAnswer, default: str) -> str:
    state = answer.body.get("state") or answer.body.get("status")
    return our_status(PROVIDER, state) if isinstance(state, str) and state.strip() else default


def _item(
    message_id: str,
    connection: str,
    kind: str,
    answer: BiwayAnswer,
    *,
    default_status: str,
    recipients: int = 0,
    recipient: str | None = None,
    per_recipient: bool = False,
    details: dict[str, Any],
) -> MessageItem:
    now = utc_now()
    status = _first_status(answer, default_status)
    return MessageItem(
        id=message_id,
        provider=PROVIDER,
        connection=connection,
        kind=kind,
        status=status,
        provider_ref=answer.reference,
        recipients=recipients,
        recipient=recipient,
        per_recipient=per_recipient,
        details=details,
        status_history=[StatusChange(status=status, at=now)],
        created_at=now,
        updated_at=now,
    )


def _without(fields: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k not in names}


def submit(request: BiwayMessageRequest, message_id: str) -> Dispatched:
    fields = request.provider_fields()
    answer = _client(request.connection).submit(BiwaySubmitPayload.model_validate(fields))
    details = {"request": _without(fields, "recipient"), "provider_answer": answer.body}
    item = _item(
        message_id,
        request.connection,
        "submit",
        answer,
        default_status="accepted",
        recipients=1,
        recipient=request.recipient,
        details=details,
    )
    return Dispatched(item=item)


def conversation(request: BiwayConversationRequest, message_id: str) -> Dispatched:
    fields = request.provider_fields()
    answer = _client(request.connection).conversation(BiwayConversationPayload.model_validate(fields))
    # A few recipients (at most 50): kept with the message, unlike a broadcast's.
    details = {
        "request": _without(fields, "recipients"),
        "recipient_list": request.recipients,
        "provider_answer": answer.body,
    }
    item = _item(
        message_id,
        request.connection,
        "conversation",
        answer,
        default_status="accepted",
        recipients=len(request.recipients),
        per_recipient=True,
        details=details,
    )
    return Dispatched(item=item)


def broadcast(request: BiwayBroadcastRequest, message_id: str) -> Dispatched:
    fields = request.provider_fields()
    answer = _client(request.connection).broadcast(BiwayBroadcastPayload.model_validate(fields))
    # Up to 10,000 recipients: only their number is kept; callbacks create a record per recipient.
    details = {"request": _without(fields, "recipients"), "provider_answer": answer.body}
    item = _item(
        message_id,
        request.connection,
        "broadcast",
        answer,
        default_status="accepted",
        recipients=len(request.recipients),
        per_recipient=True,
        details=details,
    )
    return Dispatched(item=item)


def chat_token(request: BiwayChatTokenRequest, message_id: str) -> Dispatched:
    fields = request.provider_fields()
    answer = _client(request.connection).create_chat_token(BiwayChatTokenPayload.model_validate(fields))
    url = next((str(answer.body[f]) for f in CHAT_ACCESS_FIELDS[:3] if answer.body.get(f)), None)
    details = {"request": fields, "provider_answer": _without(answer.body, *CHAT_ACCESS_FIELDS)}
    item = _item(message_id, request.connection, "chat_token", answer, default_status="created", details=details)
    return Dispatched(item=item, url=url)


def template(request: BiwayTemplateRequest, message_id: str) -> Dispatched:
    fields = request.provider_fields()
    answer = _client(request.connection).create_template(BiwayTemplatePayload.model_validate(fields))
    details = {"request": fields, "provider_answer": answer.body}
    item = _item(message_id, request.connection, "template", answer, default_status="accepted", details=details)
    return Dispatched(item=item)


def agent(request: BiwayAgentRequest, message_id: str) -> Dispatched:
    fields = request.provider_fields()
    answer = _client(request.connection).create_agent(BiwayAgentPayload.model_validate(fields))
    details = {"request": fields, "provider_answer": answer.body}
    item = _item(
        message_id, request.connection, "agent", answer, default_status="pending_verification", details=details
    )
    return Dispatched(item=item)


# operation -> step, as the registry looks them up
STEPS: dict[str, Step] = {
    "messages": submit,
    "broadcasts": broadcast,
    "conversations": conversation,
    "chat-tokens": chat_token,
    "templates": template,
    "agents": agent,
}
