"""Imbee steps: web access tokens (`/token/new`) and chats between users (`/chat/create`).

A chat is opened on behalf of its first member with that user's own apikey, unsealed from the
user's registration (never the corporate token). Imbee answers `previously_created` when the chat
or token already existed: that is a 200, and a chat the gateway already holds is answered as it is.
The access token's URL is a credential of the user: answered, never stored with the record.

Neither call is repeated once it may have reached Imbee: one that got no answer is recorded
`unknown` (what was asked, never a credential). A later request for the same token (user and bot)
or the same chat (opener and members) that Imbee answers `previously_created` resolves it: the
lost attempt created what Imbee now hands back.
"""

from __future__ import annotations

from typing import Any

from chatbridge.clock import utc_now
from chatbridge.errors import OutcomeUnknownError
from chatbridge.integrations.imbee.client import (
    PROVIDER,
    ImbeeChat,
    ImbeeChatContact,
    ImbeeChatRequest,
    ImbeeClient,
    ImbeeConnection,
    ImbeeToken,
    ImbeeTokenRequest,
)
from chatbridge.integrations.imbee.requests import ImbeeChatTokenRequest, ImbeeConversationRequest
from chatbridge.integrations.interface import Dispatched, Step, outcome_of, unknown_outcome
from chatbridge.message_statuses import UNKNOWN_STATUS
from chatbridge.secrets import load_connection
from chatbridge.store.base import get_message_store
from chatbridge.store.items import UNKNOWN_MATCH_TTL, MessageItem, StatusChange

RESOLVED_BY_AGAIN = (
    "Asking Imbee for the same {what} again (another Idempotency-Key) resolves it: Imbee then answers that it "
    "was previously created."
)
RESOLVED_NOTE = (
    "Imbee answered previously_created to a later request for the same {what}: the attempt whose answer never "
    "came back created it."
)


def _client(connection: str) -> ImbeeClient:
    return ImbeeClient(load_connection(PROVIDER, connection, ImbeeConnection))


def _record(  # the one shape of an Imbee message record
    message_id: str,
    connection: str,
    kind: str,
    status: str,
    details: dict[str, Any],
    *,
    provider_ref: str | None = None,
    recipients: int = 1,
    recipient: str | None = None,
) -> MessageItem:
    now = utc_now()
    return MessageItem(
        id=message_id,
        provider=PROVIDER,
        connection=connection,
        kind=kind,
        status=status,
        provider_ref=provider_ref,
        recipients=recipients,
        recipient=recipient,
        details=details,
        status_history=[StatusChange(status=status, at=now)],
        created_at=now,
        updated_at=now,
    )


def _unknown(item: MessageItem, error: OutcomeUnknownError, what: str, match_key: str) -> Dispatched:
    details = {**item.details, "outcome_unknown": unknown_outcome(error, RESOLVED_BY_AGAIN.format(what=what))}
    return Dispatched(item=item.model_copy(update={"details": details}), match_keys=(match_key,))


def _resolve(match_key: str, what: str, provider_ref: str | None) -> MessageItem | None:
    """The oldest record stored `unknown` under `match_key` (within the pointers' life), resolved."""
    store = get_message_store()
    for candidate in store.unknown_messages(PROVIDER, match_key, utc_now() - UNKNOWN_MATCH_TTL):
        resolved = store.resolve_unknown(
            candidate, status="created", provider_ref=provider_ref, note=RESOLVED_NOTE.format(what=what)
        )
        if resolved is not None:
            return resolved
    return None


def access_token(request: ImbeeChatTokenRequest, message_id: str) -> Dispatched:
    payload = ImbeeTokenRequest(
        virtual_user=request.virtual_user,
        bot_idsha=request.bot_idsha,
        mail=request.mail,
        celullar=request.cellular,
        max_retries=request.max_retries,
        date_limit=request.date_limit,
    )
    result = outcome_of(lambda: _client(request.connection).create_access_token(payload))
    sent_by = [way for way, given in (("mail", request.mail), ("sms", request.cellular)) if given]
    match_key = f"token:{request.virtual_user}:{request.bot_idsha}"
    if isinstance(result, OutcomeUnknownError):
        asked = {
            "bot_idsha": request.bot_idsha,
            "date_limit": request.date_limit.isoformat() if request.date_limit else None,
            "max_retries": request.max_retries,
            "sent_by": sent_by,
        }
        item = _record(
            message_id, request.connection, "access_token", UNKNOWN_STATUS, asked, recipient=request.virtual_user
        )
        return _unknown(item, result, "access token", match_key)
    token: ImbeeToken = result
    if token.previously_created:
        resolved = _resolve(match_key, "access token", None)
        if resolved is not None:
            return Dispatched(item=resolved, created=False, stored=True, url=token.url)
    details = {
        "bot_idsha": request.bot_idsha,
        "user_idsha": token.user_idsha,
        "date_limit": token.date_limit,
        "max_retries": token.max_retries,
        "sent_by": sent_by,
        "previously_created": token.previously_created,
    }
    item = _record(message_id, request.connection, "access_token", "created", details, recipient=request.virtual_user)
    return Dispatched(item=item, created=not token.previously_created, url=token.url)


def open_chat(request: ImbeeConversationRequest, message_id: str) -> Dispatched:
    from chatbridge.integrations.imbee.credentials import imbee_user_credentials

    opener = imbee_user_credentials(request.registration_id)
    chat_request = ImbeeChatRequest(contacts=[ImbeeChatContact(idsha=c) for c in request.contacts])
    result = outcome_of(lambda: _client(request.connection).create_chat(opener.apikey, chat_request))
    match_key = "chat:" + "|".join([opener.virtual_user, *sorted(request.contacts)])
    if isinstance(result, OutcomeUnknownError):
        asked = {
            "registration_id": request.registration_id,
            "opened_by": opener.virtual_user,
            "contacts": request.contacts,
        }
        item = _record(message_id, request.connection, "chat", UNKNOWN_STATUS, asked, recipients=len(request.contacts))
        return _unknown(item, result, "chat", match_key)
    chat: ImbeeChat = result
    if chat.previously_created:
        known = get_message_store().find_message_by_provider_ref(PROVIDER, chat.conversation_id)
        if known is None:
            known = _resolve(match_key, "chat", chat.conversation_id)
        if known is not None:
            return Dispatched(item=known, created=False, stored=True)
    details = {
        "registration_id": request.registration_id,
        "opened_by": opener.virtual_user,
        "members": [member.model_dump(mode="json") for member in chat.contacts],
        "previously_created": chat.previously_created,
    }
    item = _record(
        message_id,
        request.connection,
        "chat",
        "created",
        details,
        provider_ref=chat.conversation_id,
        recipients=len(request.contacts),
    )
    return Dispatched(item=item, created=not chat.previously_created)


# operation -> step, as the registry looks them up
STEPS: dict[str, Step] = {
    "conversations": open_chat,
    "chat-tokens": access_token,
}
