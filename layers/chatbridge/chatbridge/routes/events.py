"""`GET /v1/events`: the provider events of one registration or message, or lists of them by provider."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from chatbridge import access
from chatbridge.edge.openapi import problems, success
from chatbridge.errors import FieldIssue, NotFoundError, ValidationFailedError
from chatbridge.integrations import registry
from chatbridge.logic import events as logic
from chatbridge.models.events import EventPage
from chatbridge.routes.lists import LIST_NOTE, Limit, NextToken, reachable, require_order
from chatbridge.store.items import EventOutcome
from chatbridge.store.lists import EventFilters

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]


@router.get(
    "/v1/events",
    summary="List provider events: of one registration or message, or by provider, type, outcome and time",
    description=(
        "Name one subject: `registration_id` (presence and verification states of a registration) or "
        "`message_id` (delivery reports and states of a message, agent or chat token): its events, oldest "
        "first, received or processed. Or name no subject: processed events filtered by provider, type, "
        "outcome and reception time, newest first. " + LIST_NOTE + " Events are kept 30 days."
    ),
    tags=["events"],
    responses={
        **success(EventPage, "A subject's events, oldest first; or a list, newest first"),
        **problems(400, 401, 404, 422),
    },
)
def list_events(  # noqa: PLR0917 - one parameter per query parameter, as Powertools documents them
    registration_id: Annotated[
        str | None, Query(min_length=1, max_length=64, description="The events of this registration.")
    ] = None,
    message_id: Annotated[
        str | None, Query(min_length=1, max_length=64, description="The events of this message.")
    ] = None,
    provider: Annotated[
        str | None,
        Query(pattern="^(" + "|".join(registry.callback_providers()) + ")$", description="Only this provider."),
    ] = None,
    type: Annotated[  # noqa: A002 - the public parameter is `type`, as in the events it lists
        str | None, Query(min_length=1, max_length=128, description="Only this event type, as the provider sent it.")
    ] = None,
    outcome: Annotated[
        EventOutcome | None,
        Query(description="Only events with this outcome: applied, unchanged, unmatched, unrecognised."),
    ] = None,
    received_after: Annotated[
        datetime | None, Query(description="Received at or after this time (ISO 8601; no zone: UTC).")
    ] = None,
    received_before: Annotated[
        datetime | None, Query(description="Received before this time (ISO 8601; no zone: UTC).")
    ] = None,
    limit: Limit = 50,
    next_token: NextToken = None,
) -> EventPage:
    event = router.current_event.raw_event
    if registration_id is None and message_id is None:
        require_order(received_after, received_before, "received_after", "received_before")
        filters = EventFilters(
            providers=reachable(event, provider, registry.callback_providers()),
            type=type,
            outcome=outcome,
            received_after=received_after,
            received_before=received_before,
        )
        return logic.list_recent_events(filters, limit, next_token)
    listed: dict[str, object] = {"provider": provider, "type": type, "outcome": outcome}
    listed |= {"received_after": received_after, "received_before": received_before}
    extra = sorted(name for name, value in listed.items() if value is not None)
    if extra:
        raise ValidationFailedError(
            "A subject's events take no list filter: name a subject, or filter without one.",
            errors=[FieldIssue(field=extra[0], message="not with registration_id or message_id")],
        )
    if access.limited(event):
        # a key limited to some providers sees the events of their registrations and messages only
        _require_visible_subject(event, registration_id, message_id)
    return logic.list_events(registration_id=registration_id, message_id=message_id, limit=limit, next_token=next_token)


def _require_visible_subject(event: dict[str, Any], registration_id: str | None, message_id: str | None) -> None:
    from chatbridge.logic.messaging import get_message
    from chatbridge.logic.registrations import get_registration

    if registration_id:
        registration = get_registration(registration_id)
        if not access.may_see(event, registration.provider, registration.connection):
            raise NotFoundError(f"No registration with id {registration_id}.", title="Registration not found")
    elif message_id:
        message = get_message(message_id, limit=0)  # the message alone, without its recipients
        if not access.may_see(event, message.provider, message.connection):
            raise NotFoundError(f"No message with id {message_id}.", title="Message not found")
