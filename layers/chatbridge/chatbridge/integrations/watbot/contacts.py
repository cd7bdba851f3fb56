"""Watbot contacts, tags and variables: straight through to the provider, nothing stored.

Watbot is the record of these contacts; keeping a copy here would only give a second, staler
answer. Attaching a tag, setting a variable and deleting either are idempotent at Watbot, so the
routes are PUT and DELETE and need no Idempotency-Key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatbridge.models.contacts import (
    Contact,
    ContactPage,
    ContactTag,
    ContactTags,
    ContactVariable,
    ContactVariables,
)

if TYPE_CHECKING:
    from chatbridge.integrations.watbot.client import WatbotClient

PROVIDER = "watbot"


def _client(connection: str) -> WatbotClient:
    # Imported on first use: secrets (boto3) and the provider module are not needed to start.
    from chatbridge.integrations.watbot.client import WatbotClient, WatbotConnection
    from chatbridge.secrets import load_connection

    return WatbotClient(load_connection(PROVIDER, connection, WatbotConnection))


def list_contacts(
    connection: str,
    *,
    count: int,
    page: int,
    date_from: int | None = None,
    date_to: int | None = None,
    bot_id: str | None = None,
) -> ContactPage:
    from chatbridge.integrations.watbot.client import WatbotContactsQuery

    query = WatbotContactsQuery(count=count, page=page, date_from=date_from, date_to=date_to, bot_id=bot_id)
    rows = _client(connection).get_contacts(query)
    return ContactPage(
        items=[Contact.model_validate(row.model_dump()) for row in rows],
        page=query.page,
        count=query.count,
        # A full page may be followed by more; Watbot gives no total to say for sure.
        next_page=query.page + 1 if len(rows) >= query.count else None,
    )


def list_tags(connection: str, contact_id: str) -> ContactTags:
    tags = _client(connection).get_contact_tags(contact_id)
    return ContactTags(contact_id=contact_id, items=[ContactTag(contact_id=contact_id, name=t.name) for t in tags])


def attach_tag(connection: str, contact_id: str, tag: str) -> ContactTag:
    _client(connection).attach_tag(contact_id, tag)
    return ContactTag(contact_id=contact_id, name=tag)


def detach_tag(connection: str, contact_id: str, tag: str) -> None:
    _client(connection).detach_tag(contact_id, tag)


def list_variables(connection: str, contact_id: str) -> ContactVariables:
    variables = _client(connection).get_contact_variables(contact_id)
    return ContactVariables(
        contact_id=contact_id,
        items=[
            ContactVariable(contact_id=contact_id, name=v.name, value=v.value, deletable=v.deletable) for v in variables
        ],
    )


def set_variable(connection: str, contact_id: str, name: str, value: str, *, deletable: bool) -> ContactVariable:
    _client(connection).set_contact_variable(contact_id, name, value, deletable=deletable)
    return ContactVariable(contact_id=contact_id, name=name, value=value, deletable=deletable)


def delete_variable(connection: str, contact_id: str, name: str) -> None:
    _client(connection).delete_contact_variable(contact_id, name)
