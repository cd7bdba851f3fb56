"""The one table of providers and what each offers; everything that lists providers reads it.

Adding a provider is a package under `chatbridge/integrations/<name>/` and one entry here. Module
paths, not modules: a function imports only the integration it serves, when it first serves it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

    from chatbridge.integrations.interface import EventTypeInfo, Registrar, Step, Webhooks

# The messaging operations, as their routes name them (`POST /v1/<operation>`).
MESSAGING_OPERATIONS = ("messages", "broadcasts", "conversations", "chat-tokens", "templates", "agents")


@dataclass(frozen=True)
class Integration:
    name: str
    title: str
    registration_kinds: tuple[str, ...] | None = None  # None: no registration; (): one kind, no `kind` field
    operations: tuple[str, ...] = ()  # messaging operations it serves
    webhooks: bool = False  # sends webhooks we read (`webhooks` module)
    states: bool = False  # has a status vocabulary of its own (`states` module)
    contacts: bool = False  # serves /v1/contacts (`contacts` module)

    @property
    def package(self) -> str:
        return f"{__package__}.{self.name}"

    @property
    def registers(self) -> bool:
        return self.registration_kinds is not None

    def module(self, part: str) -> ModuleType:
        return importlib.import_module(f"{self.package}.{part}")


INTEGRATIONS: tuple[Integration, ...] = (
    Integration("smartregion", "SmartRegion", registration_kinds=(), webhooks=True),
    Integration("smartico", "Smartico", registration_kinds=()),
    Integration("imbee", "Imbee", registration_kinds=(), operations=("conversations", "chat-tokens"), states=True),
    Integration(
        "biway",
        "Bi-way",
        registration_kinds=("company", "account", "tester"),
        operations=MESSAGING_OPERATIONS,
        webhooks=True,
        states=True,
    ),
    Integration("watbot", "Watbot", operations=("messages",), states=True, contacts=True),
)
_BY_NAME = {integration.name: integration for integration in INTEGRATIONS}


class UnknownIntegrationError(LookupError):
    """No integration of that name offers that."""


def names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


def integration(name: str) -> Integration:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownIntegrationError(name) from None


def registration_providers() -> tuple[str, ...]:
    return tuple(i.name for i in INTEGRATIONS if i.registers)


def callback_providers() -> tuple[str, ...]:
    return tuple(i.name for i in INTEGRATIONS if i.webhooks)


def providers_of(operation: str) -> tuple[str, ...]:
    return tuple(i.name for i in INTEGRATIONS if operation in i.operations)


def messaging_providers() -> tuple[str, ...]:
    return tuple(i.name for i in INTEGRATIONS if i.operations)


def contacts_provider() -> Integration:
    (found,) = (i for i in INTEGRATIONS if i.contacts)
    return found


def body_tags(names_: tuple[str, ...]) -> tuple[str, ...]:
    """How validation errors locate a field under the request unions' tags (`biway.company.name`)."""
    tags: list[str] = []
    for name in names_:
        tags.append(name)
        tags.extend(f"{name}.{kind}" for kind in integration(name).registration_kinds or ())
    return tuple(tags)


# -- lazily loaded parts -------------------------------------------------------------------------


def registrar(name: str) -> Registrar:
    found = integration(name)
    if not found.registers:
        raise UnknownIntegrationError(f"{name} offers no registration")
    register: Registrar = found.module("registration").register
    return register


def step(operation: str, name: str) -> Step:
    found = integration(name)
    if operation not in found.operations:
        raise UnknownIntegrationError(f"{name} does not serve {operation}")
    steps: dict[str, Step] = found.module("messaging").STEPS
    return steps[operation]


def webhooks(name: str) -> Webhooks:
    """The provider's webhook reader; the default one (stores, never recognises) where it sends none."""
    from chatbridge.integrations.interface import Webhooks

    found = _BY_NAME.get(name)
    if found is None or not found.webhooks:
        return Webhooks(name)  # not cached: `name` may come from a URL
    return _webhooks_of(found)


@cache
def _webhooks_of(found: Integration) -> Webhooks:
    reader: Webhooks = found.module("webhooks").WEBHOOKS
    return reader


@cache
def states(name: str) -> dict[str, str]:
    found = _BY_NAME.get(name)
    if found is None or not found.states:
        return {}
    vocabulary: dict[str, str] = found.module("states").STATES
    return vocabulary


def connection_model(name: str) -> type[BaseModel]:
    """The model of the provider's connection secret (`<prefix>/<name>/<connection>`): its `client.CONNECTION`."""
    model: type[BaseModel] = integration(name).module("client").CONNECTION
    return model


def requests_of(name: str) -> ModuleType:
    return integration(name).module("requests")


def registration_request(name: str) -> Any:
    """The provider's registration request model (or its union of kinds)."""
    return requests_of(name).REGISTRATION_REQUEST


def notes(operation: str) -> str:
    """The providers' notes on `operation` (`registrations` or a messaging one) for the API reference."""
    offering = registration_providers() if operation == "registrations" else providers_of(operation)
    return "\n".join(f"- **{name}**: {requests_of(name).NOTES[operation]}" for name in offering)


def event_types() -> list[EventTypeInfo]:
    """Every detail-type the providers' webhooks are published as (the event-type catalogue)."""
    listed: list[EventTypeInfo] = []
    for name in callback_providers():
        listed.extend(integration(name).module("webhooks").event_types())
    return listed


def webhook_setups() -> str:
    """How each provider is told our webhook URL, for the API reference."""
    return "; ".join(f"{integration(n).title}: {integration(n).module('webhooks').SETUP}" for n in callback_providers())


def titles() -> str:
    """`A, B and C`: every provider's name as it writes it."""
    written = [i.title for i in INTEGRATIONS]
    return ", ".join(written[:-1]) + " and " + written[-1]


def messaging_request(operation: str, name: str) -> type[BaseModel]:
    model: type[BaseModel] = requests_of(name).MESSAGING_REQUESTS[operation]
    return model
