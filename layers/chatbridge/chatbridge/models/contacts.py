"""Contacts (Watbot): the API's resources and the one request body (a variable's value)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from chatbridge.models.base import Model

CONTACT_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
MAX_TAG_LENGTH = 255
MAX_VARIABLE_NAME_LENGTH = 255
MAX_VARIABLE_VALUE_LENGTH = 4000  # the value travels in the URL too (see the Watbot client)


class Contact(Model):
    """A Watbot contact, as getContacts describes it."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "1542",
                "bot_id": "7001",
                "phone": "+79990000001",
                "email": None,
                "name": "Иван Петров",
                "messenger": "telegram",
                "telegram_id": "100500",
                "telegram_username": "ivan_p",
                "viber_id": None,
                "address": None,
                "utm": None,
                "created_at": "2023-11-14T22:13:20Z",
            }
        }
    )

    id: str
    bot_id: str | None = None
    phone: str | None = None
    email: str | None = None
    name: str | None = None
    messenger: str | None = None
    telegram_id: str | None = None
    telegram_username: str | None = None
    viber_id: str | None = None
    address: str | None = None
    utm: Any = None
    created_at: datetime | None = Field(default=None, description="ISO 8601, UTC.")


class ContactPage(Model):
    items: list[Contact]
    page: int
    count: int = Field(description="Page size asked for.")
    next_page: int | None = Field(default=None, description="Pass as `page` for more; null on the last page.")


class ContactTag(Model):
    model_config = ConfigDict(json_schema_extra={"example": {"contact_id": "1542", "name": "VIP клиент 🚀"}})

    contact_id: str
    name: str


class ContactTags(Model):
    contact_id: str
    items: list[ContactTag]


class ContactVariable(Model):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"contact_id": "1542", "name": "город", "value": "Санкт-Петербург", "deletable": True}
        }
    )

    contact_id: str
    name: str
    value: str | None
    deletable: bool


class ContactVariables(Model):
    contact_id: str
    items: list[ContactVariable]


class SetContactVariableRequest(Model):
    """The value of `PUT /v1/contacts/{id}/variables/{name}`."""

    model_config = ConfigDict(
        extra="forbid",
        title="SetContactVariable",
        json_schema_extra={"examples": [{"value": "Санкт-Петербург", "deletable": True}]},
    )

    value: Annotated[str, StringConstraints(max_length=MAX_VARIABLE_VALUE_LENGTH)]
    deletable: bool = Field(default=True, description="Whether the variable may be deleted (Watbot's 0/1).")
