"""What the three list routes share: the query parameters, and the providers a list reads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query

from chatbridge import access
from chatbridge.errors import FieldIssue, ValidationFailedError
from chatbridge.store.items import sortable_time  # a time without zone is UTC, as in the lists' keys

Limit = Annotated[int, Query(ge=1, le=100, description="Items per page (at most 100).")]
CreatedAfter = Annotated[datetime | None, Query(description="Created at or after this time (ISO 8601; no zone: UTC).")]
CreatedBefore = Annotated[datetime | None, Query(description="Created before this time (ISO 8601; no zone: UTC).")]
NextToken = Annotated[
    str | None, Query(max_length=2048, description="The `next_token` of the previous page, to continue the same list.")
]
STATE_PATTERN = "^[a-z][a-z0-9_.-]{0,63}$"
Connection = Annotated[
    str | None, Query(min_length=1, max_length=64, description="Only this connection of the provider.")
]
LIST_NOTE = (
    "Newest first, `limit` per page. Without `provider`, the lists of every provider the key reaches are "
    "merged. Every filter but the provider, the state and the time range is applied to a page after it "
    "is read: such a page holds at most `limit` items, maybe fewer, and its `next_token` continues the list."
)


def reachable(event: Mapping[str, Any], named: str | None, offered: Iterable[str]) -> list[str]:
    """The providers a list reads: the one named (if the key reaches it), else every one it reaches."""
    if named is not None:
        access.require_reach(event, named)
        return [named]
    grant = access.grant_of(event)
    return [provider for provider in offered if grant is None or grant.reaches_some(provider)]


def require_order(after: datetime | None, before: datetime | None, after_name: str, before_name: str) -> None:
    if after is not None and before is not None and sortable_time(after) >= sortable_time(before):
        raise ValidationFailedError(
            f"{after_name} must be earlier than {before_name}.",
            errors=[FieldIssue(field=after_name, message=f"must be earlier than {before_name}")],
        )
