"""`/v1/registrations` routes."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from chatbridge import access
from chatbridge.edge.app import caller_of
from chatbridge.edge.openapi import IdempotencyKey, problems, success
from chatbridge.errors import FieldIssue, NotFoundError, ValidationFailedError
from chatbridge.integrations import registry
from chatbridge.logic import registrations as logic
from chatbridge.models.registrations import Registration, RegistrationPage
from chatbridge.models.requests import RegistrationRequest, examples_of, registration_variants
from chatbridge.routes.lists import (
    LIST_NOTE,
    STATE_PATTERN,
    Connection,
    CreatedAfter,
    CreatedBefore,
    Limit,
    NextToken,
    reachable,
    require_order,
)
from chatbridge.store.lists import RegistrationFilters

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]


@router.post(
    "/v1/registrations",
    summary="Register a user at a provider",
    description="One body per provider, chosen by `provider` (and by `kind` where a provider has kinds).\n\n"
    + registry.notes("registrations"),
    tags=["registrations"],
    responses={
        **success(Registration, "Registered", status=201),
        **success(Registration, "Registration updated"),
        **problems(400, 401, 409, 413, 415, 422, 429, 502, 504),
    },
)
def create_registration(
    request: Annotated[RegistrationRequest, Body(openapi_examples=examples_of(registration_variants()))],
    idempotency_key: IdempotencyKey = None,
) -> Response[Registration]:
    event = router.current_event.raw_event
    access.require_reach(event, request.provider, request.connection)
    caller = str(caller_of(event).get("key_id", "anonymous"))
    outcome = logic.create_registration(request, caller=caller, idempotency_key=idempotency_key)
    return Response(
        status_code=201 if outcome.created else 200,
        content_type="application/json",
        body=outcome.registration,
        headers={"Location": f"/v1/registrations/{outcome.registration.id}"},
    )


@router.get(
    "/v1/registrations/<id>",
    summary="Read a registration",
    tags=["registrations"],
    responses={**success(Registration, "The registration"), **problems(401, 404, 422)},
)
def get_registration(
    id: Annotated[str, Path(max_length=64, description="Registration id")],  # noqa: A002 - the public route says {id}
) -> Registration:
    registration = logic.get_registration(id)
    if not access.may_see(router.current_event.raw_event, registration.provider, registration.connection):
        # outside the key's provider limits: as if it did not exist
        raise NotFoundError(f"No registration with id {id}.", title="Registration not found")
    return registration


@router.get(
    "/v1/registrations",
    summary="List registrations, or find those of one user",
    description=(
        "With `provider` and `user_id`: the registrations of that user at that provider (no other filter). "
        "Otherwise a list filtered by provider, connection, status, presence state and creation time. " + LIST_NOTE
    ),
    tags=["registrations"],
    responses={
        **success(RegistrationPage, "Registrations, newest first (one user's: newest page first)"),
        **problems(400, 401, 422),
    },
)
def find_registrations(  # noqa: PLR0917 - one parameter per query parameter, as Powertools documents them
    provider: Annotated[
        str | None,
        Query(pattern="^(" + "|".join(registry.registration_providers()) + ")$", description="Only this provider."),
    ] = None,
    user_id: Annotated[
        str | None, Query(min_length=1, max_length=256, description="The user's id at the provider (with `provider`).")
    ] = None,
    connection: Connection = None,
    status: Annotated[
        str | None,
        Query(
            pattern=STATE_PATTERN,
            description="Only registrations in this status: pending_verification, active, rejected, unknown...",
        ),
    ] = None,
    presence: Annotated[
        str | None,
        Query(
            pattern="^[a-z_]{1,32}$",
            description="Only those whose presence (from presence webhooks) is: detected, connected, disconnected.",
        ),
    ] = None,
    created_after: CreatedAfter = None,
    created_before: CreatedBefore = None,
    limit: Limit = 50,
    next_token: NextToken = None,
) -> RegistrationPage:
    event = router.current_event.raw_event
    if user_id is not None:
        listed: dict[str, object] = {"connection": connection, "status": status, "presence": presence}
        listed |= {"created_after": created_after, "created_before": created_before}
        extra = sorted(name for name, value in listed.items() if value is not None)
        if provider is None or extra:
            field = "provider" if provider is None else extra[0]
            raise ValidationFailedError(
                "user_id finds one user's registrations: name the provider, and no other filter.",
                errors=[FieldIssue(field=field, message="with user_id: provider is required, other filters are not")],
            )
        access.require_reach(event, provider)
        page = logic.find_registrations(provider, user_id, limit, next_token)
    else:
        require_order(created_after, created_before, "created_after", "created_before")
        filters = RegistrationFilters(
            providers=reachable(event, provider, registry.registration_providers()),
            connection=connection,
            status=status,
            presence=presence,
            created_after=created_after,
            created_before=created_before,
        )
        page = logic.list_registrations(filters, limit, next_token)
    if access.limited(event):
        page.items = [r for r in page.items if access.may_see(event, r.provider, r.connection)]
    return page
