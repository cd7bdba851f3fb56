"""Imbee steps: web access tokens (`/token/new`) and chats between users (`/chat/create`).

A chat is opened on behalf of its first member with that user's own apikey, unsealed from the
user's registration (never the corporate token). Imbee answers `previously_created` when the chat
or token already existed: that is a 200, and a chat the gateway already holds is answered as it is.
The access token's URL is a credential of the user: answered, never stored with the record.
"""

from __future__ import annotations

from chatbridge.clock import utc_now
from chatbridge.integrations.imbee.client import (
    PROVIDER,
    ImbeeChatContact,
    ImbeeChatRequest,
    ImbeeClient,
    ImbeeConnection,
    ImbeeTokenRequest,
)
from chatbridge.integrations.imbee.requests import ImbeeChatTokenRequest, ImbeeConversationRequest
from chatbridge.integrations.interface import Dispatched, Step
from chatbridge.secrets import load_connection
from chatbridge.store.base import get_message_store
from chatbridge.store.items import MessageItem, StatusChange


def _client(connection: str) -> ImbeeClient:
    return ImbeeClient(load_connection(PROVIDER, connection, ImbeeConnection))


def access_token(request: ImbeeChatTokenRequest, message_id: str) -> Dispatched:
    payload = ImbeeTokenRequest(
        virtual_user=request.virtual_user,
        bot_idsha=request.bot_idsha,
        mail=request.mail,
        celullar=request.cellular,
        max_retries=request.max_retries,
        date_limit=request.date_limit,
    )
    token = _client(request.connection).create_access_token(payload)
    now = utc_now()
    item = MessageItem(
        id=message_id,
        provider=PROVIDER,
        connection=request.connection,
        kind="access_token",
        status="created",
        recipients=1,
        recipient=request.virtual_user,
        details={
            "bot_idsha": request.bot_idsha,
            "user_idsha": token.user_idsha,
            "date_limit": token.date_limit,
            "max_retries": token.max_retries,
            "sent_by": [way for way, given in (("mail", request.mail), ("sms", request.cellular)) if given],
            "previously_created": token.previously_created,
        },
        status_history=[StatusChange(status="created", at=now)],
        created_at=now,
        updated_at=now,
    )
    return Dispatched(item=item, created=not token.previously_created, url=token.url)


def open_chat(request: ImbeeConversationRequest, message_id: str) -> Dispatched:
    from chatbridge.integrations.imbee.credentials import imbee_user_credentials

    opener = imbee_user_credentials(request.registration_id)
    chat = _client(request.connection).create_chat(
        opener.apikey, ImbeeChatRequest(contacts=[ImbeeChatContact(idsha=c) for c in request.contacts])
    )
    if chat.previously_created:
        known = get_message_store().find_message_by_provider_ref(PROVIDER, chat.conversation_id)
        if known is not None:
            return Dispatched(item=known, created=False, stored=True)
    now = utc_now()
    item = MessageItem(
        id=message_id,
        provider=PROVIDER,
        connection=request.connection,
        kind="chat",
        status="created",
        provider_ref=chat.conversation_id,
        recipients=len(request.contacts),
        details={
            "registration_id": request.registration_id,
            "opened_by": opener.virtual_user,
            "members": [member.model_dump(mode="json") for member in chat.contacts],
            "previously_created": chat.previously_created,
        },
        status_history=[StatusChange(status="created", at=now)],
        created_at=now,
        updated_at=now,
    )
    return Dispatched(item=item, created=not chat.previously_created)


# operation -> step, as the registry looks them up
STEPS: dict[str, Step] = {
    "conversations": open_chat,
    "chat-tokens": access_token,
}
