"""`/v1/contacts` routes (Watbot): contacts, a contact's tags and variables.

Tag and variable names travel in the path, percent-encoded by the client (`VIP%20%26%20co`).
API Gateway hands them decoded in `pathParameters`; Powertools matches the raw path, so the values
are read from the event, and decoded here only where a caller built the event without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from chatbridge import access
from chatbridge.edge.openapi import problems
from chatbridge.errors import FieldIssue, ValidationFailedError
from chatbridge.integrations import registry
from chatbridge.models.contacts import (
    CONTACT_ID_PATTERN,
    MAX_TAG_LENGTH,
    MAX_VARIABLE_NAME_LENGTH,
    ContactPage,
    ContactTag,
    ContactTags,
    ContactVariable,
    ContactVariables,
    SetContactVariableRequest,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

    from chatbridge.integrations.interface import ContactBook


# The integration serving /v1/contacts (the bot CRM).
CRM = registry.contacts_provider()


def _crm(connection: str) -> ContactBook:
    """The contacts module of the integration serving /v1/contacts, imported on first use, once the
    key's provider limits are known to include the connection."""
    access.require_reach(router.current_event.raw_event, CRM.name, connection)
    book: ContactBook = CRM.module("contacts")  # type: ignore[assignment]
    return book


router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]

TAGS = ["contacts"]
Connection = Annotated[
    str,
    Query(
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description=f"Credential set to use: the secret `chatbridge/{CRM.name}/<connection>`.",
    ),
]
ContactId = Annotated[str, Path(pattern=CONTACT_ID_PATTERN, description=f"{CRM.title} contact id")]
# Percent-encoded in the path: a 255-character name can be six times longer there.
EncodedName = Annotated[str, Path(min_length=1, max_length=6 * MAX_TAG_LENGTH)]
NO_CONTENT: dict[int, OpenAPIResponse] = {
    204: {"description": "Done (also when there was nothing to remove)", "content": {}}  # no body
}


def ok(model: type[BaseModel], description: str) -> dict[int, Any]:
    """A route given `responses` documents only those: its 200 has to be named too."""
    return {200: {"description": description, "content": {"application/json": {"model": model}}}}


def _decoded(name: str, raw: str, limit: int) -> str:
    given = router.current_event.path_parameters.get(name)
    value = given if given is not None else unquote(raw)
    if not value.strip() or len(value) > limit:
        raise ValidationFailedError(
            f"The {name} must be 1 to {limit} characters, not blank.",
            errors=[FieldIssue(field=name, message=f"1 to {limit} characters, not blank")],
        )
    return value


@router.get(
    "/v1/contacts",
    summary=f"List {CRM.title} contacts",
    description=f"One page of the contacts {CRM.title} keeps, filtered by {CRM.title}.",
    tags=TAGS,
    responses={**ok(ContactPage, "One page of contacts"), **problems(400, 401, 422, 429, 502, 504)},
)
def list_contacts(  # noqa: PLR0917 - one parameter per query parameter of the route
    connection: Connection = "default",
    count: Annotated[int, Query(ge=1, le=500, description=f"Page size ({CRM.title} allows 500).")] = 100,
    page: Annotated[int, Query(ge=1)] = 1,
    date_from: Annotated[int | None, Query(ge=0, description="Created at or after (Unix time).")] = None,
    date_to: Annotated[int | None, Query(ge=0, description="Created at or before (Unix time).")] = None,
    bot_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None,
) -> ContactPage:
    return _crm(connection).list_contacts(
        connection, count=count, page=page, date_from=date_from, date_to=date_to, bot_id=bot_id
    )


@router.get(
    "/v1/contacts/<id>/tags",
    summary="List a contact's tags",
    tags=TAGS,
    responses={**ok(ContactTags, "The contact's tags"), **problems(401, 404, 422, 429, 502, 504)},
)
def list_tags(id: ContactId, connection: Connection = "default") -> ContactTags:  # noqa: A002 - the route says {id}
    return _crm(connection).list_tags(connection, id)


@router.put(
    "/v1/contacts/<id>/tags/<tag>",
    summary="Attach a tag to a contact",
    description="Idempotent: attaching a tag the contact already has changes nothing.",
    tags=TAGS,
    responses={**ok(ContactTag, "Attached"), **problems(401, 404, 422, 429, 502, 504)},
)
def attach_tag(id: ContactId, tag: EncodedName, connection: Connection = "default") -> ContactTag:  # noqa: A002
    return _crm(connection).attach_tag(connection, id, _decoded("tag", tag, MAX_TAG_LENGTH))


@router.delete(
    "/v1/contacts/<id>/tags/<tag>",
    summary="Detach a tag from a contact",
    tags=TAGS,
    responses={**NO_CONTENT, **problems(401, 404, 422, 429, 502, 504)},
)
def detach_tag(id: ContactId, tag: EncodedName, connection: Connection = "default") -> Response[None]:  # noqa: A002
    _crm(connection).detach_tag(connection, id, _decoded("tag", tag, MAX_TAG_LENGTH))
    return Response(status_code=204)


@router.get(
    "/v1/contacts/<id>/variables",
    summary="List a contact's variables",
    tags=TAGS,
    responses={**ok(ContactVariables, "The contact's variables"), **problems(401, 404, 422, 429, 502, 504)},
)
def list_variables(id: ContactId, connection: Connection = "default") -> ContactVariables:  # noqa: A002
    return _crm(connection).list_variables(connection, id)


@router.put(
    "/v1/contacts/<id>/variables/<name>",
    summary="Create or update a contact's variable",
    tags=TAGS,
    responses={**ok(ContactVariable, "Set"), **problems(400, 401, 404, 413, 415, 422, 429, 502, 504)},
)
def set_variable(
    id: ContactId,  # noqa: A002
    name: EncodedName,
    request: Annotated[SetContactVariableRequest, Body()],
    connection: Connection = "default",
) -> ContactVariable:
    decoded = _decoded("name", name, MAX_VARIABLE_NAME_LENGTH)
    return _crm(connection).set_variable(connection, id, decoded, request.value, deletable=request.deletable)


@router.delete(
    "/v1/contacts/<id>/variables/<name>",
    summary="Delete a contact's variable",
    tags=TAGS,
    responses={**NO_CONTENT, **problems(401, 404, 422, 429, 502, 504)},
)
def delete_variable(id: ContactId, name: EncodedName, connection: Connection = "default") -> Response[None]:  # noqa: A002
    _crm(connection).delete_variable(connection, id, _decoded("name", name, MAX_VARIABLE_NAME_LENGTH))
    return Response(status_code=204)
