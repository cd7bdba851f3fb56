"""`POST /v1/admin/events/redrive`: re-process the stream batches the events processor gave up on.

The same redrive as `make redrive-events` (tools/redrive_events.py). An operator's route: where the
authorizer hands a key's scopes over, the key needs `admin`; keys without scopes (all of today's)
keep the full access they have everywhere else.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from chatbridge.api import caller_of
from chatbridge.errors import ChatbridgeError
from chatbridge.logic.redrive import MAX_BATCHES, redrive
from chatbridge.models.common import Problem
from chatbridge.models.webhooks import RedriveReport
from chatbridge.routes.responses import problems, success

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]


class ForbiddenError(ChatbridgeError):
    status, kind, title = 403, "forbidden", "This API key may not do that"


def require_admin() -> None:
    scopes = caller_of(router.current_event.raw_event).get("scopes")
    if scopes is None:
        return
    granted = scopes.split() if isinstance(scopes, str) else list(scopes) if isinstance(scopes, list) else []
    if "admin" not in granted:
        raise ForbiddenError("The redrive needs an API key with the `admin` scope.")


@router.post(
    "/v1/admin/events/redrive",
    summary="Re-process what the events processor's dead-letter queue holds",
    description=(
        "Each dead-letter message describes a failed stream batch (shard and sequence numbers, not the "
        "records): the records are read back from the stream (kept 24 h), their items from the table, and "
        "each is processed again, idempotently. A message is deleted once all its records went through."
    ),
    tags=["admin"],
    responses={
        **success(RedriveReport, "What was re-processed"),
        **problems(401, 422, 502),
        403: {
            "description": "The API key lacks the admin scope",
            "content": {"application/problem+json": {"model": Problem}},
        },
    },
)
def redrive_events(
    max_batches: Annotated[int, Query(ge=1, le=MAX_BATCHES, description="Dead-letter messages to read.")] = MAX_BATCHES,
) -> RedriveReport:
    require_admin()
    from chatbridge.dead_letters import get_dead_letters
    from chatbridge.store.stream import get_table_stream

    return redrive(get_dead_letters(), get_table_stream(), max_batches=max_batches)
