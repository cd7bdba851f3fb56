"""`POST /v1/admin/events/redrive`: re-process the stream batches the events processor gave up on.

The same redrive as `make redrive-events` (tools/redrive_events.py). An operator's route: the key
needs the `admin` scope (chatbridge.access.ROUTE_SCOPES, checked at the edge).
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from chatbridge.edge.openapi import problems, success
from chatbridge.logic.redrive import MAX_BATCHES, redrive
from chatbridge.models.webhooks import RedriveReport

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]


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
        **problems(401, 403, 422, 502),
    },
)
def redrive_events(
    max_batches: Annotated[int, Query(ge=1, le=MAX_BATCHES, description="Dead-letter messages to read.")] = MAX_BATCHES,
) -> RedriveReport:
    from chatbridge.dead_letters import get_dead_letters
    from chatbridge.store.stream import get_table_stream

    return redrive(get_dead_letters(), get_table_stream(), max_batches=max_batches)
