"""`POST /v1/callbacks/{provider}/{token}`: provider webhooks (public route; the token authenticates).

The body is read here rather than by request validation: the token is checked first, so a caller
without it learns nothing about what a body should look like, and the raw bytes are what dedupe hashes.
It is decoded and parsed by the edge's rules (`chatbridge.edge.body`), like every body, except that
its Content-Type is not checked: providers label webhooks loosely (or not at all), and refusing one
for its label would lose the event.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from chatbridge.edge.body import raw_bytes
from chatbridge.edge.openapi import problems
from chatbridge.integrations import registry
from chatbridge.logic.callbacks import receive_callback
from chatbridge.models.common import Problem
from chatbridge.models.events import CallbackReceipt, callback_request_body

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]


@router.post(
    "/v1/callbacks/<provider>/<token>",
    summary="Receive a provider webhook",
    description=(
        "Give providers `<API>/v1/callbacks/<provider>/<token>` as their webhook URL ("
        + registry.webhook_setups()
        + "). The token is the provider's entry in the "
        "secret `chatbridge/callbacks`. Each delivery is stored once (deduplicated on the provider's event id, "
        "else the body's SHA-256) and answered 200 at once; applying it and publishing it to EventBridge "
        "happen right after, from the table's stream."
    ),
    tags=["callbacks"],
    security=[],
    responses={
        200: {"description": "Stored, or already stored", "content": {"application/json": {"model": CallbackReceipt}}},
        **problems(400, 413, 422),
        401: {
            "description": "Wrong token in the callback URL",
            "content": {"application/problem+json": {"model": Problem}},
        },
        404: {
            "description": "Unknown provider: none of " + ", ".join(registry.callback_providers()) + " (checked first)",
            "content": {"application/problem+json": {"model": Problem}},
        },
    },
    openapi_extensions={"requestBody": callback_request_body()},
)
def receive(
    provider: Annotated[str, Path(max_length=32, description=" or ".join(registry.callback_providers()))],
    token: Annotated[str, Path(max_length=512, description="The provider's callback token")],
) -> CallbackReceipt:
    return receive_callback(provider, token, raw_bytes(router.current_event.raw_event))
