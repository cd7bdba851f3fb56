"""Reading provider webhook bodies: the facts every integration extracts, and the field helpers.

Webhook schemas are mostly unpublished, so each integration's `webhooks` module reads fields by
their usual names with these helpers, and a body we cannot read is never refused: it is stored and
flagged `recognised: false`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from chatbridge.models.base import Model
from chatbridge.store.items import SubjectKind

# Usual names of a webhook's fields (first match wins, searched breadth-first).
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


class EventFacts(Model):
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
