"""Bi-way messaging steps: submit, conversation, broadcast, chat token, template, agent.

Bi-way's answers are kept (`details.provider_answer`) since nothing public says which of their
fields matter, except what a chat token answers: its URL opens the chat, so it is answered once
and never stored. A state in the answer (`state` or `status`) becomes the first status through
the status vocabulary; without one, a send starts `accepted` and an agent `pending_verification`
(the guide: "placé en attente de vérification"). A call that got no answer is recorded `unknown`
with what was sent; a report naming one of its recipients later resolves it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chatbridge.clock import utc_now
from chatbridge.errors import OutcomeUnknownError
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
from chatbridge.integrations.biway.states import FIRST_STATUS
from chatbridge.integrations.biway.webhooks import RESOLVED_BY_REPORT, recipient_key
from chatbridge.integrations.interface import Dispatched, Step, outcome_of, unknown_outcome
from chatbridge.message_statuses import UNKNOWN_STATUS, our_status
from chatbridge.secrets import load_connection
from chatbridge.store.items import MessageItem, StatusChange

# Fields of a chat token answer that grant access to the chat.
CHAT_ACCESS_FIELDS = ("url", "chat_url", "link", "token")
NOT_RESOLVED = (
    "Bi-way reports nothing on it that names it before it has a reference: check at Bi-way before creating it again."
)


def _client(connection: str) -> BiwayClient:
    return BiwayClient(load_connection(PROVIDER, connection, BiwayConnection))


def _first_status(answer: BiwayAnswer, kind: str) -> str:
    state = answer.body.get("state") or answer.body.get("status")
    return our_status(PROVIDER, state) if isinstance(state, str) and state.strip() else FIRST_STATUS[kind]


def _dispatched(
    message_id: str,
    connection: str,
    kind: str,
    result: BiwayAnswer | OutcomeUnknownError,
    *,
    sent_at: datetime,
    details: dict[str, Any],
    recipients: int = 0,
    recipient: str | None = None,
    per_recipient: bool = False,
    reported_as: list[str] | None = None,
    url: str | None = None,
) -> Dispatched:
    """The message record of a call: from Bi-way's answer, or `unknown` when none came back.

    An unknown record keeps pointers by the recipients Bi-way's reports on it would name
    (`reported_as`), so that the first report naming one of them resolves it (BiwayWebhooks).
    """
    reported_as = reported_as or []
    if isinstance(result, OutcomeUnknownError):
        status, reference, at = UNKNOWN_STATUS, None, sent_at  # reports are matched from when it left
        resolved_by = RESOLVED_BY_REPORT if reported_as else NOT_RESOLVED
        details = {**details, "outcome_unknown": unknown_outcome(result, resolved_by)}
    else:
        status, reference, at = _first_status(result, kind), result.reference, utc_now()
        details = {**details, "provider_answer": result.body}
    item = MessageItem(
        id=message_id,
        provider=PROVIDER,
        connection=connection,
        kind=kind,
        status=status,
        provider_ref=reference,
        recipients=recipients,
        recipient=recipient,
        per_recipient=per_recipient,
        details=details,
        status_history=[StatusChange(status=status, at=at)],
        created_at=at,
        updated_at=at,
    )
    if status != UNKNOWN_STATUS:
        return Dispatched(item=item, url=url)
    return Dispatched(item=item, match_keys=tuple(recipient_key(r) for r in reported_as))


def _without(fields: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k not in names}


def submit(request: BiwayMessageRequest, message_id: str) -> Dispatched:
    fields = request.provider_fields()
    payload = BiwaySubmitPayload.model_validate(fields)
    sent_at = utc_now()
    result = outcome_of(lambda: _client(request.connection).submit(payload))
    return _dispatched(
        message_id,
        request.connection,
        "submit",
        result,
        sent_at=sent_at,
        details={"request": _without(fields, "recipient")},
        recipients=1,
        recipient=request.recipient,
        reported_as=[request.recipient],
    )


def conversation(request: BiwayConversationRequest, message_id: str) -> Dispatched:
    fields = request.provider_fields()
    payload = BiwayConversationPayload.model_validate(fields)
    sent_at = utc_now()
    result = outcome_of(lambda: _client(request.connection).conversation(payload))
    # A few recipients (at most 50): kept with the message, unlike a broadcast's.
    return _dispatched(
        message_id,
        request.connection,
        "conversation",
        result,
        sent_at=sent_at,
        details={"request": _without(fields, "recipients"), "recipient_list": request.recipients},
        recipients=len(request.recipients),
        per_recipient=True,
        reported_as=request.recipients,
    )


def broadcast(request: BiwayBroadcastRequest, message_id: str) -> Dispatched:
    fields = request.provider_fields()
    payload = BiwayBroadcastPayload.model_validate(fields)
    sent_at = utc_now()
    result = outcome_of(lambda: _client(request.connection).broadcast(payload))
    # Up to 10,000 recipients: only their number is kept; callbacks create a record per recipient.
    return _dispatched(
        message_id,
        request.connection,
        "broadcast",
        result,
        sent_at=sent_at,
        details={"request": _without(fields, "recipients")},
        recipients=len(request.recipients),
        per_recipient=True,
        reported_as=request.recipients,
    )


def chat_token(request: BiwayChatTokenRequest, message_id: str) -> Dispatched:
    fields = request.provider_fields()
    payload = BiwayChatTokenPayload.model_validate(fields)
    sent_at = utc_now()
    result = outcome_of(lambda: _client(request.connection).create_chat_token(payload))
    url = None
    if isinstance(result, BiwayAnswer):
        url = next((str(result.body[f]) for f in CHAT_ACCESS_FIELDS[:3] if result.body.get(f)), None)
        result = result.model_copy(update={"body": _without(result.body, *CHAT_ACCESS_FIELDS)})
    # Using the token reports `read` naming the recipient it was made for, when the request names one.
    recipient = fields.get("recipient")
    return _dispatched(
        message_id,
        request.connection,
        "chat_token",
        result,
        sent_at=sent_at,
        details={"request": fields},
        reported_as=[recipient] if isinstance(recipient, str) and recipient else None,
        url=url,
    )


def template(request: BiwayTemplateRequest, message_id: str) -> Dispatched:
    fields = request.provider_fields()
    payload = BiwayTemplatePayload.model_validate(fields)
    sent_at = utc_now()
    result = outcome_of(lambda: _client(request.connection).create_template(payload))
    return _dispatched(message_id, request.connection, "template", result, sent_at=sent_at, details={"request": fields})


def agent(request: BiwayAgentRequest, message_id: str) -> Dispatched:
    fields = request.provider_fields()
    payload = BiwayAgentPayload.model_validate(fields)
    sent_at = utc_now()
    result = outcome_of(lambda: _client(request.connection).create_agent(payload))
    return _dispatched(message_id, request.connection, "agent", result, sent_at=sent_at, details={"request": fields})


# operation -> step, as the registry looks them up
STEPS: dict[str, Step] = {
    "messages": submit,
    "broadcasts": broadcast,
    "conversations": conversation,
    "chat-tokens": chat_token,
    "templates": template,
    "agents": agent,
}
