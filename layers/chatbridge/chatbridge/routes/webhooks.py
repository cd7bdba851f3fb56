"""Webhooks to the operator's bots: `/v1/webhooks` (subscriptions, secret rotation, the attempt log,
recovery), `/v1/event-types` (the catalogue) and `POST /v1/events/{id}/replay`.

Deliveries are signed as the Standard Webhooks specification says (`webhook-id`, `webhook-timestamp`,
`webhook-signature`), sent at least once, and retried on a schedule; `webhook-id` is the key a bot
dedupes on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from chatbridge.edge.app import caller_of
from chatbridge.edge.openapi import IdempotencyKey, problems, success
from chatbridge.logic import webhooks as logic
from chatbridge.models.webhooks import (
    DeliveryAttemptPage,
    EventTypeList,
    RecoverOutcome,
    RecoverRequest,
    ReplayOutcome,
    ReplayRequest,
    SecretRotation,
    Webhook,
    WebhookCreated,
    WebhookCreateRequest,
    WebhookPage,
    WebhookUpdateRequest,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]

TAGS = ["webhooks"]
WebhookId = Annotated[str, Path(max_length=64, description="Webhook subscription id (`wh_...`)")]
Limit = Annotated[int, Query(ge=1, le=100)]
NextToken = Annotated[str | None, Query(max_length=2048)]
NO_CONTENT: dict[int, OpenAPIResponse] = {204: {"description": "Deleted", "content": {}}}  # no body
SIGNATURES = (
    "Every delivery is a POST of `{type, timestamp, data}` (`data`: the normalised event as published on "
    "EventBridge) with the Standard Webhooks headers `webhook-id` (the same on every attempt of one event "
    "to one subscription: dedupe on it, deliveries are at least once), `webhook-timestamp` (Unix seconds "
    "of the attempt) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of id.timestamp.body>` for each "
    "secret in use). Retries: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then the delivery "
    "is failed. A 2xx is success; 410 disables the subscription; anything else is retried; five days of "
    "failures disable it."
)


def _caller() -> str:
    return str(caller_of(router.current_event.raw_event).get("key_id", "anonymous"))


@router.post(
    "/v1/webhooks",
    summary="Subscribe a bot's endpoint to events",
    description="The answer holds the signing secret, shown this once.\n\n"
    + SIGNATURES
    + "\n\nThe URL must be https and resolve to public addresses only (checked again at every delivery).",
    tags=TAGS,
    responses={
        **success(WebhookCreated, "Subscribed; `secret` is shown only here", status=201),
        **success(WebhookCreated, "Already created with this Idempotency-Key (no secret)"),
        **problems(400, 401, 413, 422),
    },
)
def create_webhook(
    request: Annotated[WebhookCreateRequest, Body()], idempotency_key: IdempotencyKey = None
) -> Response[WebhookCreated]:
    created, new = logic.create_webhook(request, caller=_caller(), idempotency_key=idempotency_key)
    return Response(
        status_code=201 if new else 200,
        content_type="application/json",
        body=created,
        headers={"Location": f"/v1/webhooks/{created.id}"},
    )


@router.get(
    "/v1/webhooks",
    summary="List webhook subscriptions",
    tags=TAGS,
    responses={**success(WebhookPage, "Subscriptions, oldest first"), **problems(400, 401, 422)},
)
def list_webhooks(limit: Limit = 50, next_token: NextToken = None) -> WebhookPage:
    return logic.list_webhooks(limit, next_token)


@router.get(
    "/v1/webhooks/<id>",
    summary="Read a webhook subscription",
    tags=TAGS,
    responses={**success(Webhook, "The subscription (never its secret)"), **problems(401, 404, 422)},
)
def get_webhook(id: WebhookId) -> Webhook:  # noqa: A002 - the public route says {id}
    return logic.get_webhook(id)


@router.patch(
    "/v1/webhooks/<id>",
    summary="Change, enable or disable a webhook subscription",
    tags=TAGS,
    responses={**success(Webhook, "The subscription as changed"), **problems(400, 401, 404, 413, 422)},
)
def update_webhook(id: WebhookId, request: Annotated[WebhookUpdateRequest, Body()]) -> Webhook:  # noqa: A002
    return logic.update_webhook(id, request)


@router.delete(
    "/v1/webhooks/<id>",
    summary="Delete a webhook subscription",
    description="Its pending retries stop; its attempt log expires with it (30 days).",
    tags=TAGS,
    responses={**NO_CONTENT, **problems(401, 404, 422)},
)
def delete_webhook(id: WebhookId) -> Response[None]:  # noqa: A002
    logic.delete_webhook(id)
    return Response(status_code=204)


@router.post(
    "/v1/webhooks/<id>/rotate-secret",
    summary="Rotate a subscription's signing secret",
    description="The new secret is in this answer only. The previous one keeps signing beside it for 24 h "
    "(`webhook-signature` then carries both), so a bot can switch without missing a delivery. "
    "Each call rotates again: it is not replayed with an Idempotency-Key.",
    tags=TAGS,
    responses={**success(SecretRotation, "Rotated"), **problems(401, 404, 409, 422)},
)
def rotate_secret(id: WebhookId) -> SecretRotation:  # noqa: A002
    return logic.rotate_secret(id)


@router.get(
    "/v1/webhooks/<id>/deliveries",
    summary="The attempt log of a webhook subscription",
    description="Every attempt, newest first: status, response code, latency, attempt number, when the "
    "next attempt is due, and the start of the answer. Kept 30 days.",
    tags=TAGS,
    responses={**success(DeliveryAttemptPage, "Attempts, newest first"), **problems(400, 401, 404, 422)},
)
def list_deliveries(id: WebhookId, limit: Limit = 50, next_token: NextToken = None) -> DeliveryAttemptPage:  # noqa: A002
    return logic.list_attempts(id, limit, next_token)


@router.post(
    "/v1/webhooks/<id>/recover",
    summary="Send every failed delivery since a time again",
    description="Failed deliveries (schedule exhausted, or abandoned while the subscription was disabled) "
    "created at or after `since` start the schedule again, with the same `webhook-id`. Up to 200 per "
    "call: `more` says to call again. Safe to repeat.",
    tags=TAGS,
    responses={**success(RecoverOutcome, "Queued", status=202), **problems(400, 401, 404, 409, 413, 422)},
)
def recover(id: WebhookId, request: Annotated[RecoverRequest, Body()]) -> Response[RecoverOutcome]:  # noqa: A002
    outcome = logic.recover(id, request.since)
    return Response(status_code=202, content_type="application/json", body=outcome)


@router.get(
    "/v1/event-types",
    summary="The event types a subscription can ask for",
    description="Each with a description and an example of the body a bot receives.",
    tags=TAGS,
    responses={
        200: {
            "description": "The catalogue",
            "content": {
                "application/json": {
                    "model": EventTypeList,
                    "examples": {
                        "catalogue": {
                            "summary": "Every event type, with the body a bot receives",
                            "value": logic.catalogue().model_dump(mode="json"),
                        }
                    },
                }
            },
        },
        **problems(401),
    },
)
def event_types() -> EventTypeList:
    return logic.catalogue()


@router.post(
    "/v1/events/<id>/replay",
    summary="Send an event again",
    description="To one subscription (`webhook`), or to every enabled subscription whose types match. The "
    "bot sees the same `webhook-id` as the first time. Safe to repeat. Events are kept 30 days.",
    tags=TAGS,
    responses={**success(ReplayOutcome, "Queued", status=202), **problems(400, 401, 404, 409, 413, 422)},
)
def replay_event(
    id: Annotated[str, Path(max_length=64, description="Event id (as in GET /v1/events)")],  # noqa: A002
    request: Annotated[ReplayRequest, Body()],
) -> Response[ReplayOutcome]:
    outcome = logic.replay_event(id, request.webhook)
    return Response(status_code=202, content_type="application/json", body=outcome)
