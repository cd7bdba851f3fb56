"""Bi-way callbacks: state changes of accounts, companies, testers and agents, and message reports.

The guide names only the event types, so the body is read loosely, in the shape our simulator
sends: `{"event_id", "event": "ACCOUNT_STATE"|..., "resource_id", "state", "occurred_at",
"recipient", "data"}`. Events name a resource by Bi-way's id (our `provider_ref`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict

from chatbridge.integrations.biway.states import FIRST_STATUS
from chatbridge.integrations.interface import EventTypeInfo, Webhooks
from chatbridge.integrations.webhook_fields import MAX_EVENT_ID_LENGTH, EventFacts, identifier, parse_time
from chatbridge.message_statuses import our_status
from chatbridge.models.base import Model
from chatbridge.observability import logger
from chatbridge.store.items import SubjectKind

if TYPE_CHECKING:
    from chatbridge.store import MessageStatusStore
    from chatbridge.store.items import EventItem, MessageItem

PROVIDER = "biway"
# Event type -> (what it changes here, the resource name used in EventBridge detail-types).
# Agents, chat tokens and messages live in the message store; accounts, companies and testers are
# registrations.
EVENT_SUBJECTS: dict[str, tuple[SubjectKind, str]] = {
    "ACCOUNT_STATE": ("registration", "account"),
    "COMPANY_STATE": ("registration", "company"),
    "TESTER_STATE": ("registration", "tester"),
    "AGENT_STATE": ("message", "agent"),
    "MESSENGER_REPORT": ("message", "message"),
}
CALLBACK_EXAMPLE: dict[str, Any] = {
    "event_id": "5b0e7a52-1f4c-4a8e-9d7e-3c2b1a0f9e8d",
    "event": "MESSENGER_REPORT",
    "resource_id": "msg-8841",
    "state": "read",
    "occurred_at": "2026-11-27T10:00:05Z",
    "recipient": "+33670000000",
    "data": {},
}
SETUP = "`POST /system/callback`, `make biway-callback`"
REPORT_EVENT = "MESSENGER_REPORT"
# A message stored `unknown` (Bi-way's answer never came back, so we hold no reference of it) is
# resolved by an unmatched report naming one of its recipients that we receive within this time
# after we sent it. Both instants are ours (when we sent, when we received the report): Bi-way's
# clock is never compared with ours.
RECONCILE_WINDOW = timedelta(hours=1)
RESOLVED_BY_REPORT = (
    "Bi-way's first delivery report naming its recipient (within an hour) resolves it and gives it Bi-way's "
    "reference; its status then follows the reports."
)
UNDERSTOOD_FIELDS = "`event_id`, `event`, `resource_id`, `state`, `occurred_at`, `recipient`"


class BiwayCallback(Model):
    """A Bi-way callback body; loose on purpose (extra fields kept, values coerced to text)."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    event_id: str | None = None
    event: str | None = None
    resource_id: str | None = None
    state: str | None = None
    occurred_at: str | int | float | None = None
    recipient: str | None = None
    data: Any = None


def recipient_key(recipient: str) -> str:
    """How an `unknown` message is found by a recipient a report names (digits: `+33 6 70...` = `33670...`)."""
    return "recipient:" + re.sub(r"\D", "", recipient)


def biway_state(raw: str | None) -> str | None:
    """Our word for a Bi-way state (`ACTIVE`, `Pending verification`, `displayed` -> active, ...)."""
    token = re.sub(r"[^a-z0-9]+", "_", (raw or "").strip().lower()).strip("_")[:64]
    return our_status(PROVIDER, token) if token else None


class BiwayWebhooks(Webhooks):
    def describe(self, body: Mapping[str, Any]) -> EventFacts:
        try:
            callback = BiwayCallback.model_validate(body)
        except ValueError:
            # a field of a type we cannot read (e.g. an object as `state`): keep the body, flag it
            return EventFacts(provider_event_id=identifier(body.get("event_id"), MAX_EVENT_ID_LENGTH))
        subject = EVENT_SUBJECTS.get((callback.event or "").strip().upper())
        resource_id = identifier(callback.resource_id)
        state = biway_state(callback.state)
        facts = {"resource_id": resource_id, "recipient": identifier(callback.recipient)}
        recognised = subject is not None and resource_id is not None and state is not None
        return EventFacts(
            provider_event_id=identifier(callback.event_id, MAX_EVENT_ID_LENGTH),
            event_type=callback.event,
            recognised=recognised,
            subject_kind=subject[0] if subject else None,
            subject_ref=resource_id,
            state=state,
            detail_type=f"{PROVIDER}.{subject[1]}.{state}" if recognised and subject else None,
            occurred_at=parse_time(callback.occurred_at),
            facts={name: value for name, value in facts.items() if value is not None},
        )

    def message_of(self, facts: EventFacts, item: EventItem, store: MessageStatusStore) -> MessageItem | None:
        found = super().message_of(facts, item, store)
        recipient = facts.facts.get("recipient")
        if found is not None or (facts.event_type or "").strip().upper() != REPORT_EVENT or not recipient:
            return found
        # Unmatched: the report may be about a message whose submit got no answer.
        candidates = [
            message
            for message in store.unknown_messages(
                PROVIDER, recipient_key(recipient), item.received_at - RECONCILE_WINDOW
            )
            if message.created_at <= item.received_at
        ]
        if len(candidates) != 1:
            if candidates:
                logger.info(
                    "Bi-way report matches several unknown messages: left unmatched",
                    extra={"event_id": item.id, "message_ids": [m.id for m in candidates]},
                )
            return None
        (message,) = candidates
        assert facts.subject_ref  # checked by the events processor
        note = (
            f"Bi-way reported on recipient {recipient} as {facts.subject_ref} (event {item.id}): it got the "
            "request whose answer never came back."
        )
        resolved = store.resolve_unknown(
            message, status=FIRST_STATUS.get(message.kind, "accepted"), provider_ref=facts.subject_ref, note=note
        )
        if resolved is not None:
            logger.info("unknown message resolved by a report", extra={"message_id": message.id, "event_id": item.id})
        return resolved or super().message_of(facts, item, store)


WEBHOOKS = BiwayWebhooks(PROVIDER)


# The states the catalogue lists per resource; a state Bi-way reports beyond these is published as
# `biway.<resource>.<state>` all the same (a subscription to `biway.<resource>.*` receives it).
CATALOGUE_STATES: dict[str, tuple[str, ...]] = {
    "account": ("pending_verification", "active", "rejected"),
    "company": ("pending_verification", "active", "rejected"),
    "tester": ("pending_verification", "active", "rejected"),
    "agent": ("pending_verification", "active", "rejected"),
    "message": ("accepted", "sent", "delivered", "read", "failed", "rejected", "expired"),
}
RESOURCE_WORDS = {
    "account": "A Bi-way account",
    "company": "A Bi-way company (establishment)",
    "tester": "An RCS tester",
    "agent": "A chatbot agent",
    "message": "A message (or one recipient of a broadcast or conversation)",
}


def event_types() -> list[EventTypeInfo]:
    """The detail-types callbacks are published as, for the event-type catalogue."""
    found: list[EventTypeInfo] = []
    for event, (kind, resource) in EVENT_SUBJECTS.items():
        for state in CATALOGUE_STATES[resource]:
            is_message = kind == "message"
            found.append(
                EventTypeInfo(
                    name=f"{PROVIDER}.{resource}.{state}",
                    description=f"{RESOURCE_WORDS[resource]} is now `{state}` (callback {event}).",
                    example={
                        "id": "7d9f3c1e-2b4a-5c6d-8e9f-0a1b2c3d4e5f",
                        "provider": PROVIDER,
                        "type": event,
                        "state": state,
                        "subject_ref": "msg-8841" if is_message else "acc-2231",
                        "occurred_at": "2026-11-27T10:00:05Z",
                        "received_at": "2026-11-27T10:00:05.120000Z",
                        "outcome": "applied",
                        "registration_ids": [] if is_message else ["0b8e6a0c-1f3d-5e7a-9c2b-4d6f8a0c2e4b"],
                        "message_id": "5b0f7c1e-2f7e-4d6a-9a55-8f1d8e7c2a10" if is_message else None,
                        "facts": {"resource_id": "msg-8841" if is_message else "acc-2231"}
                        | ({"recipient": "+33670000000"} if resource == "message" else {}),
                    },
                )
            )
    return found
