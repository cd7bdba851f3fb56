"""Unknown outcomes: what the answer says when a provider call may have gone through unanswered.

An integration describes the resource with status `unknown` (and the request it sent, never its
secrets); the logic stores it inside the idempotent computation and returns it like a success, so
the idempotency record keeps it and the same `Idempotency-Key` replays it. Only then, outside the
computation, the answer becomes a 504 problem naming the stored resource.
"""

from __future__ import annotations

from typing import Any, Protocol

from chatbridge.errors import OutcomeUnknownError
from chatbridge.integrations import registry
from chatbridge.message_statuses import UNKNOWN_STATUS


class Stored(Protocol):
    """A registration or message item as stored."""

    id: str
    provider: str
    status: str


def unknown_detail(noun: str, stored: Stored, details: dict[str, Any], *, keyed: bool) -> str:
    """The problem detail of an unknown outcome (kept in the idempotency record, so replayed as is):
    `stored` is what the store holds now, `details` what the integration said of the outcome."""
    provider, resource_id, status = stored.provider, stored.id, stored.status
    title = registry.integration(provider).title
    about = details.get("outcome_unknown") or {}
    cause = about.get("cause", "no answer")
    if status == UNKNOWN_STATUS:
        kept = f"The {noun} is stored with status `unknown` as {resource_id}"
    else:
        kept = f"The {noun} {resource_id} was already stored (status `{status}`) and is kept as it is"
    resolved_by = about.get("resolved_by") or f"Nothing {title} sends can resolve it: check at {title}."
    if keyed:
        retry = (
            f"Retrying with this Idempotency-Key replays this answer without calling {title}; a request with "
            f"another key, or none, calls {title} again."
        )
    else:
        retry = f"This request had no Idempotency-Key: sending it again calls {title} again. Send one with every POST."
    return (
        f"{title} got the request but no answer came back ({cause}): it may have been processed. {kept}; "
        f"read it at its Location. {resolved_by} {retry}"
    )


def unknown_outcome_error(provider: str, detail: str, resource_id: str, location: str) -> OutcomeUnknownError:
    title = registry.integration(provider).title
    return OutcomeUnknownError(
        detail,
        title=f"Outcome unknown at {title}",
        provider=provider,
        resource_id=resource_id,
        location=location,
    )
