"""The status vocabulary of messages, as data: provider states mapped to ours.

Providers report states in their own words (Bi-way does not even publish its callbacks), so each
integration's `states` module is a table to extend, not code to change. A state missing from the
table is kept as the provider said it (lowercased) rather than dropped: the history stays true and
the table can catch up.
"""

from __future__ import annotations

from datetime import datetime

from chatbridge.store.items import MessageItem, StatusChange, sortable_time

# Ours, with the order they normally come in. The rank only breaks ties between two events that
# carry the same instant: `read` then wins over `delivered`, whatever order they arrive in.
STATUS_RANKS: dict[str, int] = {
    "pending_verification": 0,
    "accepted": 10,
    "created": 10,
    "active": 20,
    "sent": 20,
    "delivered": 30,
    "read": 40,
    "failed": 50,
    "rejected": 50,
    "expired": 50,
}
UNKNOWN_RANK = 5
# Ours, for a message or registration whose provider call may have gone through unanswered
# (a timeout after sending a call that is not safe to repeat). Stored without a status time like
# every status of ours, so the first provider report replaces it.
UNKNOWN_STATUS = "unknown"


def our_status(provider: str, state: str) -> str:
    """The status we store for `state` reported by `provider`; our own words map to themselves."""
    from chatbridge.integrations.registry import states

    word = state.strip().lower()
    mapped = states(provider).get(word)
    if mapped is not None:
        return mapped
    return word


def rank_of(status: str) -> int:
    return STATUS_RANKS.get(status, UNKNOWN_RANK)


def history_order(change: StatusChange) -> tuple[bool, datetime, int, str]:
    """Sort key of a status history: our own entries (no event) first, then provider reports by
    provider time, lifecycle rank and event id. Our clock and a provider's are never compared."""
    return (change.event_id is not None, change.at, rank_of(change.status), change.event_id or "")


def report_version(at: datetime, status: str, event_id: str) -> str:
    """Orders the reports about one subject by string comparison: the provider's time, then the
    lifecycle rank (at one instant `read` beats `delivered`, `rejected` beats `active`), then the id."""
    return f"{sortable_time(at)}#{rank_of(status):03d}#{event_id}"


# -- the aggregate of a multi-recipient send -------------------------------------------------------
FAILURE_STATUSES = frozenset({"failed", "rejected", "expired"})
PARTIALLY_FAILED = "partially_failed"


def recipient_counts(message: MessageItem) -> dict[str, int]:
    """Recipients by status: those a callback reported on by their last status, the others in the
    message's own status (`accepted` until the provider says more)."""
    counts = {status: count for status, count in message.recipient_counts.items() if count > 0}
    waiting = message.recipients - sum(counts.values())
    if waiting > 0:
        counts[message.status] = counts.get(message.status, 0) + waiting
    return dict(sorted(counts.items(), key=lambda entry: (rank_of(entry[0]), entry[0])))


def aggregate_status(message: MessageItem) -> str:
    """The status of a multi-recipient send, derived from its recipients' counts:

    - no recipient reported yet: the message's own status;
    - every recipient failed (failed, rejected or expired): `failed`;
    - some failed, not all: `partially_failed`;
    - otherwise the least advanced status any recipient is in (`delivered` once every recipient is
      at least delivered, `read` once every one read).
    """
    if not message.per_recipient or not any(count > 0 for count in message.recipient_counts.values()):
        return message.status
    counts = recipient_counts(message)
    failed = sum(count for status, count in counts.items() if status in FAILURE_STATUSES)
    if failed == sum(counts.values()):
        return "failed"
    if failed:
        return PARTIALLY_FAILED
    return min(counts, key=lambda status: (rank_of(status), status))
