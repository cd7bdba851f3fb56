"""`GET /v1/events`: the provider events of one registration or message."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from chatbridge import access
from chatbridge.edge.openapi import problems, success
from chatbridge.errors import NotFoundError
from chatbridge.logic import events as logic
from chatbridge.models.events import EventPage

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]


@router.get(
    "/v1/events",
    summary="List the provider events of a registration or a message",
    description=(
        "Name one subject: `registration_id` (presence and verification states of a registration) or "
        "`message_id` (delivery reports and states of a message, agent or chat token). Oldest first. "
        "Events are kept 30 days."
    ),
    tags=["events"],
    responses={**success(EventPage, "The subject's events, oldest first"), **problems(400, 401, 404, 422)},
)
def list_events(
    registration_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    message_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> EventPage:
    event = router.current_event.raw_event
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
