"""What a list asks the store: the providers whose partitions it reads, and its filters.

`providers`: the one a caller named, else every one its key reaches (none: an empty page); a list
over several providers merges their partitions newest first.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from chatbridge.models.base import Model


class ProviderList(Model):
    providers: list[str]


class RegistrationFilters(ProviderList):
    connection: str | None = None
    status: str | None = None
    presence: str | None = Field(default=None, description="The presence state presence webhooks reported")
    created_after: datetime | None = None
    created_before: datetime | None = None


class MessageFilters(ProviderList):
    connection: str | None = None
    kind: str | None = None
    status: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


class EventFilters(ProviderList):
    type: str | None = Field(default=None, description="The provider's event type")
    outcome: str | None = None
    received_after: datetime | None = None
    received_before: datetime | None = None
