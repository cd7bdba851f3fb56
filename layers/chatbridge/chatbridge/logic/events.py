"""Provider events after ingestion: applying them to registrations and messages, publishing them,
and listing the events of one registration or message.

Applying is exactly-once in effect: every write is conditional on the event being newer than what
is stored (provider time, then lifecycle rank, then event id to break ties), so a redelivered,
retried or late event changes nothing it should not. Reports are compared with reports only: our
own first state (`pending_verification`, `accepted`, no presence) has no version and yields to the
first report, whatever the provider's clock says. Publishing is at least once (EventBridge's own
guarantee); the detail's `id` lets consumers dedupe.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from chatbridge.clock import utc_now
from chatbridge.errors import FieldIssue, NotFoundError, ValidationFailedError
from chatbridge.integrations import registry
from chatbridge.integrations.webhook_fields import EventFacts
from chatbridge.models.events import BusEventDetail, Event, EventPage
from chatbridge.observability import logger, metrics
from chatbridge.store import RegistrationStore, get_store
from chatbridge.store.base import EventStore, MessageStatusStore, get_event_store, get_message_store
from chatbridge.store.items import (
    EVENT_ENTITY,
    EventItem,
    EventOutcome,
    MessageItem,
    ProcessedEvent,
    RegistrationItem,
)
from chatbridge.store.lists import EventFilters

if TYPE_CHECKING:
    from chatbridge.eventbus import EventPublisher


# -- processing --------------------------------------------------------------------------------


def process_event(
    item: EventItem,
    *,
    events: EventStore | None = None,
    registrations: RegistrationStore | None = None,
    messages: MessageStatusStore | None = None,
    publisher: EventPublisher | None = None,
) -> ProcessedEvent | None:
    """Normalise, apply, publish, then mark processed; None when there was nothing left to do."""
    events = events or get_event_store()
    current = events.get_event(item.provider, item.dedupe_key)
    if current is None or current.status == "processed":
        # expired and deleted, or a redelivery of a record already handled (stream retries resume
        # from the first failed record, so records after it come again)
        return None
    facts = registry.webhooks(item.provider).describe(json.loads(item.raw))
    if not (facts.recognised and facts.subject_ref and facts.state and facts.detail_type):
        result = ProcessedEvent(outcome="unrecognised", event_type=facts.event_type, processed_at=utc_now())
        events.mark_processed(item, result)
        logger.info("unrecognised event kept", extra={"event_id": item.id, "provider": item.provider})
        metrics.add_metric(name="events.unrecognised", unit=MetricUnit.Count, value=1)
        return result
    if facts.subject_kind == "message":
        result = _apply_to_message(item, facts, messages or get_message_store())
    else:
        result = _apply_to_registrations(item, facts, registrations or get_store())
    if publisher is None:
        from chatbridge.eventbus import get_publisher

        publisher = get_publisher()
    publisher.publish(facts.detail_type, bus_detail(item, facts, result))
    events.mark_processed(item, result)
    logger.info(
        "event processed", extra={"event_id": item.id, "detail_type": facts.detail_type, "outcome": result.outcome}
    )
    metrics.add_metric(name=f"events.{result.outcome}", unit=MetricUnit.Count, value=1)
    return result


def _outcome(matched: int, changed: int) -> EventOutcome:
    if not matched:
        return "unmatched"
    return "applied" if changed else "unchanged"


def _apply_to_registrations(item: EventItem, facts: EventFacts, store: RegistrationStore) -> ProcessedEvent:
    assert facts.subject_ref and facts.state  # checked by process_event
    webhooks = registry.webhooks(item.provider)
    matched = list(webhooks.registrations_of(facts.subject_ref, facts.facts, store))
    changed = sum(webhooks.apply_to_registration(store, registration, item, facts.state) for registration in matched)
    return ProcessedEvent(
        outcome=_outcome(len(matched), changed),
        detail_type=facts.detail_type,
        event_type=facts.event_type,
        registration_ids=[r.id for r in matched],
        processed_at=utc_now(),
    )


def _apply_to_message(item: EventItem, facts: EventFacts, store: MessageStatusStore) -> ProcessedEvent:
    assert facts.subject_ref and facts.state
    # by the provider's reference; an integration may also resolve a message stored `unknown`
    message = registry.webhooks(item.provider).message_of(facts, item, store)
    if message is None:
        return ProcessedEvent(
            outcome="unmatched", detail_type=facts.detail_type, event_type=facts.event_type, processed_at=utc_now()
        )
    changed = store.apply_status(
        item.provider,
        facts.subject_ref,
        facts.state,
        item.effective_at,
        item.id,
        facts.facts.get("recipient"),
    ) or any(change.event_id == item.id for change in message.status_history)
    return ProcessedEvent(
        outcome=_outcome(1, int(changed)),
        detail_type=facts.detail_type,
        event_type=facts.event_type,
        message_id=message.id,
        processed_at=utc_now(),
    )


def bus_detail(item: EventItem, facts: EventFacts, result: ProcessedEvent) -> BusEventDetail:
    assert facts.state and facts.subject_ref and result.outcome != "unrecognised"
    return BusEventDetail(
        id=item.id,
        provider=item.provider,
        type=facts.event_type,
        state=facts.state,
        subject_ref=facts.subject_ref,
        occurred_at=item.effective_at,
        received_at=item.received_at,
        outcome=result.outcome,
        registration_ids=result.registration_ids,
        message_id=result.message_id,
        facts=facts.facts,
    )


# -- late references ---------------------------------------------------------------------------
# A callback can be processed before the registration or message it names is saved (the provider
# answers our call and calls back before we store its answer): it is kept as `unmatched`. The
# stream brings the resource's creation here too; the events naming it are found through the subject
# index and applied now, oldest first, so no status is lost to the race. They were published when
# they arrived (bots dedupe on the event id), so they are not published again.
LATE_EVENTS_LIMIT = 500


def process_stored_item(
    attributes: dict[str, Any],
    *,
    events: EventStore | None = None,
    registrations: RegistrationStore | None = None,
    messages: MessageStatusStore | None = None,
    publisher: EventPublisher | None = None,
) -> str:
    """One new item from the table's stream (or read back by a redrive): a provider event is
    processed, a new registration or message gets the events that arrived before it. What it was."""
    pk, sk = str(attributes.get("pk", "")), attributes.get("sk")
    if attributes.get("entity") == EVENT_ENTITY:
        process_event(
            EventItem.model_validate(attributes),
            events=events,
            registrations=registrations,
            messages=messages,
            publisher=publisher,
        )
        return "event"
    if sk == "REG" and pk.startswith("REG#"):
        registration = RegistrationItem.model_validate(attributes)
        subject = registry.webhooks(registration.provider).subject_of(registration)
        apply_late_events(registration.provider, subject, events=events, registrations=registrations, messages=messages)
        return "registration"
    if sk == "MSG" and pk.startswith("MSG#"):
        message = MessageItem.model_validate(attributes)
        apply_late_events(
            message.provider, message.provider_ref, events=events, registrations=registrations, messages=messages
        )
        return "message"
    return "other"


def apply_late_events(
    provider: str,
    subject_ref: str | None,
    *,
    events: EventStore | None = None,
    registrations: RegistrationStore | None = None,
    messages: MessageStatusStore | None = None,
) -> int:
    """Apply the `unmatched` events of a subject that now exists; how many it changed."""
    if not subject_ref or provider not in registry.callback_providers():
        return 0
    events = events or get_event_store()
    applied = seen = 0
    token: str | None = None
    while seen < LATE_EVENTS_LIMIT:
        page, token = events.events_of_subject(provider, subject_ref, 100, token)
        seen += len(page)
        for item in page:
            # A `received` one may be in the processor right now, on another shard, having found
            # nothing: applying it here too is safe (every write is conditional) and closes that gap.
            # It is not marked: the processor still publishes and marks it.
            if item.status == "received" or item.outcome == "unmatched":
                applied += _apply_late(item, events, registrations, messages)
        if not token:
            break
    if applied:
        logger.info("late events applied", extra={"provider": provider, "subject_ref": subject_ref, "count": applied})
        metrics.add_metric(name="events.late_applied", unit=MetricUnit.Count, value=applied)
    return applied


def _apply_late(
    item: EventItem,
    events: EventStore,
    registrations: RegistrationStore | None,
    messages: MessageStatusStore | None,
) -> int:
    facts = registry.webhooks(item.provider).describe(json.loads(item.raw))
    if not (facts.recognised and facts.subject_ref and facts.state and facts.detail_type):
        return 0
    if facts.subject_kind == "message":
        result = _apply_to_message(item, facts, messages or get_message_store())
    else:
        result = _apply_to_registrations(item, facts, registrations or get_store())
    if result.outcome == "unmatched":
        return 0
    if item.status == "processed":
        events.mark_processed(item, result)
    return int(result.outcome == "applied")


# -- listing -----------------------------------------------------------------------------------


def to_resource(item: EventItem) -> Event:
    data: Any = json.loads(item.raw)
    facts = registry.webhooks(item.provider).describe(data)
    return Event(
        id=item.id,
        provider=item.provider,
        type=facts.event_type,
        recognised=item.recognised,
        detail_type=item.detail_type or facts.detail_type,
        state=facts.state,
        subject_ref=item.subject_ref,
        occurred_at=item.occurred_at,
        received_at=item.received_at,
        status=item.status,
        outcome=item.outcome,
        registration_ids=item.registration_ids,
        message_id=item.message_id,
        facts=facts.facts,
        data=data,
    )


def list_events(
    *,
    registration_id: str | None,
    message_id: str | None,
    limit: int,
    next_token: str | None,
    events: EventStore | None = None,
    registrations: RegistrationStore | None = None,
    messages: MessageStatusStore | None = None,
) -> EventPage:
    if bool(registration_id) == bool(message_id):
        raise ValidationFailedError(
            "Name exactly one subject: registration_id or message_id.",
            errors=[FieldIssue(field="registration_id", message="give registration_id or message_id, not both")],
        )
    events = events or get_event_store()
    registration: RegistrationItem | None = None
    if registration_id:
        registration = (registrations or get_store()).get_registration(registration_id)
        if registration is None:
            raise NotFoundError(f"No registration with id {registration_id}.", title="Registration not found")
        subject = registration.provider, registry.webhooks(registration.provider).subject_of(registration)
    else:
        assert message_id
        record = (messages or get_message_store()).get_message(message_id, recipients_limit=0)
        if record is None:
            raise NotFoundError(f"No message with id {message_id}.", title="Message not found")
        subject = (record.message.provider, record.message.provider_ref)
    provider, subject_ref = subject
    if not subject_ref:
        return EventPage(items=[])  # a resource the provider keeps no reference of gets no events
    items, token = events.events_of_subject(provider, subject_ref, limit, next_token)
    resources = [to_resource(i) for i in items]
    if registration is not None:
        webhooks = registry.webhooks(provider)
        resources = [r for r in resources if webhooks.concerns(registration, r.facts)]
    return EventPage(items=resources, next_token=token)


def list_recent_events(
    filters: EventFilters, limit: int, next_token: str | None, events: EventStore | None = None
) -> EventPage:
    """Processed events of `filters.providers`, newest received first (a limited key: only its providers)."""
    items, token = (events or get_event_store()).list_events(filters, limit, next_token)
    return EventPage(items=[to_resource(i) for i in items], next_token=token)
