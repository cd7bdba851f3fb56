"""Sending messages and creating messaging resources at providers, and reading them back.

Each POST runs once per Idempotency-Key (`run_once`): the provider step is called, then what it
produced is stored with its provider reference and first status. When the provider's outcome is
unknown (no answer to a call not safe to repeat) the step describes the message `unknown`: it is
stored and kept as the answer like a success, and only then raised as a 504 naming it, so the same
key replays that instead of sending again. Provider steps live in each
integration's `messaging` module, found through the registry and imported on first use, so a cold
start loads only the provider it serves.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from chatbridge.clock import derived_id, random_id
from chatbridge.errors import NotFoundError
from chatbridge.integrations import registry
from chatbridge.logic.outcomes import unknown_detail, unknown_outcome_error
from chatbridge.message_statuses import aggregate_status, history_order, recipient_counts
from chatbridge.models.messaging import (
    Message,
    MessageDetail,
    MessageOutcome,
    MessagePage,
    RecipientStatus,
    StatusChangeView,
)
from chatbridge.store import MessageStore, get_message_store
from chatbridge.store.items import MessageItem, StatusChange
from chatbridge.store.lists import MessageFilters


def message_id_for(operation: str, caller: str, idempotency_key: str | None) -> str:
    """Derived from the Idempotency-Key when there is one, so a retried request names the same message."""
    return derived_id("message", caller, operation, idempotency_key) if idempotency_key else random_id()


def _view(change: StatusChange) -> StatusChangeView:
    return StatusChangeView.model_validate(change.model_dump())


def to_resource(item: MessageItem) -> Message:
    values = item.model_dump(exclude={"status_history", "status_at", "per_recipient"})
    history = sorted(item.status_history, key=history_order)
    if item.per_recipient:
        # the aggregate of its recipients (message_statuses.aggregate_status), not only its own reports
        values["status"] = aggregate_status(item)
        values["recipient_counts"] = recipient_counts(item)
    return Message(**values, status_history=[_view(c) for c in history])


def list_messages(
    filters: MessageFilters, limit: int, next_token: str | None, store: MessageStore | None = None
) -> MessagePage:
    items, token = (store or get_message_store()).list_messages(filters, limit, next_token)
    return MessagePage(items=[to_resource(i) for i in items], next_token=token)


def _save(store: MessageStore, item: MessageItem, match_keys: tuple[str, ...] = ()) -> MessageItem:
    from chatbridge.store.messages import MessageIdTakenError

    try:
        return store.create_message(item, match_keys)
    except MessageIdTakenError:
        # The Idempotency-Key was used before, longer ago than its record lives: a new message.
        return store.create_message(item.model_copy(update={"id": random_id()}), match_keys)


def create(
    operation: str,
    request: BaseModel,
    *,
    caller: str,
    idempotency_key: str | None,
    store: MessageStore | None = None,
) -> MessageOutcome:
    """Run the provider step of `operation` for `request.provider` once, and store what it produced."""
    provider = str(getattr(request, "provider"))  # noqa: B009 - every messaging request names its provider

    def compute() -> dict[str, Any]:
        dispatched = registry.step(operation, provider)(request, message_id_for(operation, caller, idempotency_key))
        if dispatched.stored:
            saved = dispatched.item
        else:
            saved = _save(store or get_message_store(), dispatched.item, dispatched.match_keys)
        outcome = MessageOutcome(created=dispatched.created, message=to_resource(saved), url=dispatched.url)
        if dispatched.unknown:
            # Returned, not raised: the idempotency record keeps it, so the same key replays it.
            detail = unknown_detail("message", saved, saved.details, keyed=bool(idempotency_key))
            outcome = MessageOutcome(created=False, message=to_resource(saved), outcome_unknown=detail)
        return outcome.model_dump(mode="json")

    from chatbridge.idempotency import run_once  # Powertools idempotency loads only when first needed

    answer = run_once(f"{operation}.create", idempotency_key, caller, request.model_dump(mode="json"), compute)
    outcome = MessageOutcome.model_validate(answer)
    if outcome.outcome_unknown:
        message = outcome.message
        raise unknown_outcome_error(provider, outcome.outcome_unknown, message.id, f"/v1/messages/{message.id}")
    return outcome


def get_message(
    message_id: str, *, limit: int = 100, next_token: str | None = None, store: MessageStore | None = None
) -> MessageDetail:
    record = (store or get_message_store()).get_message(message_id, recipients_limit=limit, next_token=next_token)
    if record is None:
        raise NotFoundError(f"No message with id {message_id}.", title="Message not found")
    recipients = [
        RecipientStatus(
            recipient=r.recipient,
            status=r.status,
            at=r.status_at,
            status_history=[_view(c) for c in sorted(r.status_history, key=history_order)],
        )
        for r in record.recipients
    ]
    return MessageDetail(
        **to_resource(record.message).model_dump(), recipient_statuses=recipients, next_token=record.next_token
    )
