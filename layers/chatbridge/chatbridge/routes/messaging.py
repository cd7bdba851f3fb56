"""Messaging routes: messages, broadcasts, conversations, chat tokens, templates, agents.

Every POST calls a provider, so every POST honours `Idempotency-Key`. Whatever it creates is a
message record, read back with `GET /v1/messages/{id}` (its status history, and for multi-recipient
sends the status of each recipient a callback reported on).
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from chatbridge import access
from chatbridge.edge.app import caller_of
from chatbridge.edge.openapi import IdempotencyKey, problems
from chatbridge.errors import NotFoundError
from chatbridge.integrations import registry
from chatbridge.logic import messaging as logic
from chatbridge.models.messaging import ChatToken, Message, MessageDetail, MessagePage
from chatbridge.models.requests import (
    AgentRequest,
    BroadcastRequest,
    ChatTokenRequest,
    ConversationRequest,
    MessageRequest,
    TemplateRequest,
    examples_of,
    messaging_variants,
)
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
from chatbridge.store.lists import MessageFilters

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]

TAGS = ["messaging"]
SEND_PROBLEMS = problems(400, 401, 404, 409, 413, 415, 422, 429, 502, 504)


def _created(operation: str, request: BaseModel, idempotency_key: str | None, model: type[Message] = Message) -> Any:
    event = router.current_event.raw_event
    access.require_reach(event, str(getattr(request, "provider", "")), str(getattr(request, "connection", "default")))
    caller = str(caller_of(event).get("key_id", "anonymous"))
    outcome = logic.create(operation, request, caller=caller, idempotency_key=idempotency_key)
    body = outcome.message if model is Message else model(**outcome.message.model_dump(), url=outcome.url)
    return Response(
        status_code=201 if outcome.created else 200,
        content_type="application/json",
        body=body,
        headers={"Location": f"/v1/messages/{outcome.message.id}"},
    )


def _examples(operation: str) -> dict[str, Any]:
    return examples_of(messaging_variants(operation))


def _answers(model: type[BaseModel], description: str, *, updated: str | None = None) -> dict[int, Any]:
    answers: dict[int, Any] = {201: {"description": description, "content": {"application/json": {"model": model}}}}
    if updated:
        answers[200] = {"description": updated, "content": {"application/json": {"model": model}}}
    return {**answers, **SEND_PROBLEMS}


@router.post(
    "/v1/messages",
    summary="Send a message to one recipient",
    description=registry.notes("messages"),
    tags=TAGS,
    responses=_answers(Message, "Accepted by the provider"),
)
def send_message(
    request: Annotated[MessageRequest, Body(openapi_examples=_examples("messages"))],
    idempotency_key: IdempotencyKey = None,
) -> Response[Message]:
    created: Response[Message] = _created("messages", request, idempotency_key)
    return created


@router.post(
    "/v1/broadcasts",
    summary="Send one message to many recipients",
    description=registry.notes("broadcasts"),
    tags=TAGS,
    responses=_answers(Message, "Accepted by the provider"),
)
def send_broadcast(
    request: Annotated[BroadcastRequest, Body(openapi_examples=_examples("broadcasts"))],
    idempotency_key: IdempotencyKey = None,
) -> Response[Message]:
    created: Response[Message] = _created("broadcasts", request, idempotency_key)
    return created


@router.post(
    "/v1/conversations",
    summary="Send to a few recipients, or open a chat between users",
    description=registry.notes("conversations"),
    tags=TAGS,
    responses=_answers(Message, "Sent, or chat created", updated="The chat already existed"),
)
def create_conversation(
    request: Annotated[ConversationRequest, Body(openapi_examples=_examples("conversations"))],
    idempotency_key: IdempotencyKey = None,
) -> Response[Message]:
    created: Response[Message] = _created("conversations", request, idempotency_key)
    return created


@router.post(
    "/v1/chat-tokens",
    summary="Create a chat token: a URL that opens a chat for one user",
    description=registry.notes("chat-tokens") + "\n\nThe URL is in this answer only, never in GET.",
    tags=TAGS,
    responses=_answers(ChatToken, "Token created", updated="The provider already had this token"),
)
def create_chat_token(
    request: Annotated[ChatTokenRequest, Body(openapi_examples=_examples("chat-tokens"))],
    idempotency_key: IdempotencyKey = None,
) -> Response[ChatToken]:
    created: Response[ChatToken] = _created("chat-tokens", request, idempotency_key, ChatToken)
    return created


@router.post(
    "/v1/templates",
    summary="Create a message template",
    description=registry.notes("templates"),
    tags=TAGS,
    responses=_answers(Message, "Template created"),
)
def create_template(
    request: Annotated[TemplateRequest, Body(openapi_examples=_examples("templates"))],
    idempotency_key: IdempotencyKey = None,
) -> Response[Message]:
    created: Response[Message] = _created("templates", request, idempotency_key)
    return created


@router.post(
    "/v1/agents",
    summary="Create a chat environment (agent)",
    description=registry.notes("agents"),
    tags=TAGS,
    responses=_answers(Message, "Agent submitted"),
)
def create_agent(
    request: Annotated[AgentRequest, Body(openapi_examples=_examples("agents"))], idempotency_key: IdempotencyKey = None
) -> Response[Message]:
    created: Response[Message] = _created("agents", request, idempotency_key)
    return created


@router.get(
    "/v1/messages/<id>",
    summary="Read a message and its status history",
    description="For broadcasts and conversations, a page of recipient statuses (those a callback reported on).",
    tags=TAGS,
    responses={
        200: {"description": "The message", "content": {"application/json": {"model": MessageDetail}}},
        **problems(400, 401, 404, 422),
    },
)
def get_message(
    id: Annotated[str, Path(max_length=64, description="Message id")],  # noqa: A002 - the public route says {id}
    limit: Annotated[int, Query(ge=1, le=500, description="Recipients per page.")] = 100,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> MessageDetail:
    message = logic.get_message(id, limit=limit, next_token=next_token)
    if not access.may_see(router.current_event.raw_event, message.provider, message.connection):
        # outside the key's provider limits: as if it did not exist
        raise NotFoundError(f"No message with id {id}.", title="Message not found")
    return message


@router.get(
    "/v1/messages",
    summary="List messages",
    description="Messages, broadcasts, conversations, chat tokens, templates and agents, filtered by provider, "
    "connection, kind, status and creation time. A broadcast's status is its recipients' aggregate. " + LIST_NOTE,
    tags=TAGS,
    responses={
        200: {"description": "Messages, newest first", "content": {"application/json": {"model": MessagePage}}},
        **problems(400, 401, 422),
    },
)
def list_messages(  # noqa: PLR0917 - one parameter per query parameter, as Powertools documents them
    provider: Annotated[
        str | None,
        Query(pattern="^(" + "|".join(registry.messaging_providers()) + ")$", description="Only this provider."),
    ] = None,
    connection: Connection = None,
    kind: Annotated[
        str | None,
        Query(
            pattern="^[a-z_]{1,32}$",
            description="Only this kind: submit, conversation, broadcast, message, chat, access_token, chat_token, "
            "template, agent.",
        ),
    ] = None,
    status: Annotated[
        str | None,
        Query(
            pattern=STATE_PATTERN,
            description="Only messages in this status (a broadcast's: its aggregate): accepted, read...",
        ),
    ] = None,
    created_after: CreatedAfter = None,
    created_before: CreatedBefore = None,
    limit: Limit = 50,
    next_token: NextToken = None,
) -> MessagePage:
    event = router.current_event.raw_event
    require_order(created_after, created_before, "created_after", "created_before")
    filters = MessageFilters(
        providers=reachable(event, provider, registry.messaging_providers()),
        connection=connection,
        kind=kind,
        status=status,
        created_after=created_after,
        created_before=created_before,
    )
    page = logic.list_messages(filters, limit, next_token)
    if access.limited(event):
        page.items = [m for m in page.items if access.may_see(event, m.provider, m.connection)]
    return page
