"""Watbot step: a reply to a contact (`sendMessage`, with `contact_id` and a `text`, `image` or `file` URL).

Watbot sends no delivery callbacks that we know of, so the message stays `accepted`; a send that
got no answer stays `unknown`: nothing Watbot offers tells whether the contact got it.
"""

from __future__ import annotations

from chatbridge.clock import utc_now
from chatbridge.errors import OutcomeUnknownError
from chatbridge.integrations.interface import Dispatched, Step, outcome_of, unknown_outcome
from chatbridge.integrations.watbot.client import PROVIDER, WatbotClient, WatbotConnection, WatbotMessagePayload
from chatbridge.integrations.watbot.requests import WatbotMessageRequest
from chatbridge.message_statuses import UNKNOWN_STATUS
from chatbridge.secrets import load_connection
from chatbridge.store.items import MessageItem, StatusChange

NOT_RESOLVED = (
    "Watbot reports nothing on sent messages: look at the contact's conversation in Watbot before sending again."
)


def send(request: WatbotMessageRequest, message_id: str) -> Dispatched:
    client = WatbotClient(load_connection(PROVIDER, request.connection, WatbotConnection))
    content = request.model_dump(include={"text", "image", "file"}, exclude_none=True)
    result = outcome_of(lambda: client.send_message(WatbotMessagePayload(contact_id=request.contact_id, **content)))
    details: dict[str, object] = {"request": content}
    if isinstance(result, OutcomeUnknownError):
        status, reference = UNKNOWN_STATUS, None
        details["outcome_unknown"] = unknown_outcome(result, NOT_RESOLVED)
    else:
        status, reference = "accepted", result.provider_ref
    now = utc_now()
    item = MessageItem(
        id=message_id,
        provider=PROVIDER,
        connection=request.connection,
        kind="message",
        status=status,
        provider_ref=reference,
        recipients=1,
        recipient=request.contact_id,
        details=details,
        status_history=[StatusChange(status=status, at=now)],
        created_at=now,
        updated_at=now,
    )
    return Dispatched(item=item)


# operation -> step, as the registry looks them up
STEPS: dict[str, Step] = {
    "messages": send,
}
