"""What a provider's webhook body says: its type, subject, state and time.

Neither provider publishes its webhook schema (DESIGN.md section 7), so the vocabularies are data,
not code: a new SmartRegion event name is one entry below, a new Bi-way state one entry in
`chatbridge.message_statuses` (shared with the message store). A body we cannot
read is never refused: it is stored and flagged `recognised: false`.

- SmartRegion sends presence events (detection, connection, disconnection of registered users) in
  a shape its document does not fix: fields are looked up by their usual names, at any depth.
- Bi-way (the shape agreed with its simulator, as the guide names only the event types):
  `{"event_id", "event": "ACCOUNT_STATE"|..., "resource_id", "state", "occurred_at", "recipient", "data"}`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chatbridge.message_statuses import our_status
from chatbridge.store.events import SubjectKind

# -- vocabularies ------------------------------------------------------------------------------

SMARTREGION_PRESENCE_STATES = {
    "detection": "detected",
    "detected": "detected",
    "detect": "detected",
    "connection": "connected",
    "connected": "connected",
    "connect": "connected",
    "disconnection": "disconnected",
    "disconnected": "disconnected",
    "disconnect": "disconnected",
}

# Bi-way event type -> (what it changes here, the resource name used in EventBridge detail-types).
# Agents, chat tokens and messages live in the message store; accounts, companies and testers are
# registrations.
BIWAY_EVENT_SUBJECTS: dict[str, tuple[SubjectKind, str]] = {
    "ACCOUNT_STATE": ("registration", "account"),
    "COMPANY_STATE": ("registration", "company"),
    "TESTER_STATE": ("registration", "tester"),
    "AGENT_STATE": ("message", "agent"),
    "MESSENGER_REPORT": ("message", "message"),
}

# Where a SmartRegion body may carry each field (first match wins, searched breadth-first).
EVENT_ID_FIELDS = ("event_id", "eventId")
EVENT_TYPE_FIELDS = ("event", "event_type", "eventType", "type", "action")
USER_FIELDS = ("user_id", "userId")
CHANNEL_FIELDS = ("channel_id", "channelId")
PROJECT_FIELDS = ("project_id", "projectId")
TIME_FIELDS = ("occurred_at", "time", "timestamp", "event_time", "datetime", "date", "created_at", "ts")
SEARCH_DEPTH = 3

MAX_REFERENCE_LENGTH = 256
MAX_EVENT_ID_LENGTH = 200
# Bounds for plausible event times: anything else is a misread field, not a time.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


class EventFacts(BaseModel):
    """What ingestion stores about a body besides the body itself."""

    provider_event_id: str | None = None
    event_type: str | None = None
    recognised: bool = False
    subject_kind: SubjectKind | None = None
    subject_ref: str | None = None
    state: str | None = None
    detail_type: str | None = None
    occurred_at: datetime | None = None
    facts: dict[str, str] = Field(default_factory=dict)


class BiwayCallback(BaseModel):
    """A Bi-way callback body; loose on purpose (extra fields kept, values coerced to text)."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    event_id: str | None = None
    event: str | None = None
    resource_id: str | None = None
    state: str | None = None
    occurred_at: str | int | float | None = None
    recipient: str | None = None
    data: Any = None


def describe(provider: str, body: Mapping[str, Any]) -> EventFacts:
    if provider == "biway":
        return describe_biway(body)
    if provider == "smartregion":
        return describe_smartregion(body)
    return EventFacts(provider_event_id=identifier(first_value(body, EVENT_ID_FIELDS), MAX_EVENT_ID_LENGTH))


def describe_smartregion(body: Mapping[str, Any]) -> EventFacts:
    event_type = text(first_value(body, EVENT_TYPE_FIELDS))
    state = SMARTREGION_PRESENCE_STATES.get((event_type or "").strip().lower())
    found = {
        "user_id": identifier(first_value(body, USER_FIELDS)),
        "channel_id": identifier(first_value(body, CHANNEL_FIELDS)),
        "project_id": identifier(first_value(body, PROJECT_FIELDS)),
    }
    facts = {name: value for name, value in found.items() if value is not None}
    user_id = facts.get("user_id")
    recognised = state is not None and user_id is not None
    return EventFacts(
        provider_event_id=identifier(first_value(body, EVENT_ID_FIELDS), MAX_EVENT_ID_LENGTH),
        event_type=event_type,
        recognised=recognised,
        subject_kind="registration" if user_id else None,
        subject_ref=user_id,
        state=state,
        detail_type=f"smartregion.user.{state}" if recognised else None,
        occurred_at=parse_time(first_value(body, TIME_FIELDS)),
        facts=facts,
    )


def describe_biway(body: Mapping[str, Any]) -> EventFacts:
    try:
        callback = BiwayCallback.model_validate(body)
    except ValueError:
        # a field of a type we cannot read (e.g. an object as `state`): keep the body, flag it
        return EventFacts(provider_event_id=identifier(body.get("event_id"), MAX_EVENT_ID_LENGTH))
    subject = BIWAY_EVENT_SUBJECTS.get((callback.event or "").strip().upper())
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
        detail_type=f"biway.{subject[1]}.{state}" if recognised and subject else None,
        occurred_at=parse_time(callback.occurred_at),
        facts={name: value for name, value in facts.items() if value is not None},
    )


def biway_state(raw: str | None) -> str | None:
    """Our word for a Bi-way state (`ACTIVE`, `Pending verification`, `displayed` -> active, ...)."""
    token = re.sub(r"[^a-z0-9]+", "_", (raw or "").strip().lower()).strip("_")[:64]
    return our_status("biway", token) if token else None


# -- field helpers -----------------------------------------------------------------------------


def first_value(body: Mapping[str, Any], names: Iterable[str], depth: int = SEARCH_DEPTH) -> Any:
    """The value of the first of `names` found in `body` or its nested objects, nearest level first."""
    wanted = tuple(names)
    level: list[Mapping[str, Any]] = [body]
    for _ in range(depth):
        for mapping in level:
            for name in wanted:
                value = mapping.get(name)
                if value is not None and not isinstance(value, dict | list):
                    return value
        level = [v for mapping in level for v in mapping.values() if isinstance(v, dict)]
        if not level:
            return None
    return None


def text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    rendered = str(value).strip()
    return rendered[:MAX_REFERENCE_LENGTH] or None


def identifier(value: Any, limit: int = MAX_REFERENCE_LENGTH) -> str | None:
    """A reference usable in a key: text or integer, printable, not too long; else None."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    rendered = str(value).strip()
    if not rendered or len(rendered) > limit or not rendered.isprintable():
        return None
    return rendered


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 text, or Unix time in seconds or milliseconds; None when absent or implausible."""
    moment: datetime | None = None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str) and not value.strip().lstrip("-").replace(".", "", 1).isdigit():
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    else:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        seconds = number / 1000 if abs(number) >= 1e11 else number
        try:
            moment = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    moment = moment.astimezone(UTC)
    return moment if EARLIEST <= moment < LATEST else None
