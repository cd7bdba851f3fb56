"""Watbot step: a reply to a contact (`sendMessage`, with `contact_id` and a `text`, `image` or `file` URL).

Watbot sends no delivery callbacks that we know of, so the message stays `accepted`.
"""

from __future__ import annotations

from chatbridge.clock import utc_now
from chatbridge.integrations.interface import Dispatched, Step
from chatbridge.integrations.watbot.client import PROVIDER, WatbotClient, WatbotConnection, WatbotMessagePayload
from chatbridge.integrations.watbot.requests import WatbotMessageRequest
from chatbridge.secrets import load_connection
from chatbridge.store.items import MessageItem, StatusChange


def send(request: WatbotMessageRequest, message_id: str) -> Dispatched:
    client = WatbotClient(load_connection(PROVIDER, request.connection, WatbotConnection))
    content = request.model_dump(include={"text", "image", "file"}, exclude_none=True)
    sent = client.send_message(WatbotMessagePayload(contact_id=request.contact_id, **content))
    now = utc_now()
    item = MessageItem(
        id=message_id,
        provider=PROVIDER,
        connection=request.connection,
        kind="message",
        status="accepted",
        provider_ref=sent.provider_ref,
        recipients=1,
        recipient=request.contact_id,
        details={"request": content},
        status_history=[StatusChange(status="accepted", at=now)],
        created_at=now,
        updated_at=now,
    )
    return Dispatched(item=item)


# operation -> step, as the registry looks them up
STEPS: dict[str, Step] = {
    "messages": send,
}
