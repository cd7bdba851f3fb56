"""The public request bodies that name a provider: unions built from the registry.

Each union has one variant per provider offering the operation, taken from the integration's
`requests` module and told apart by the body's `provider`. Where a variant is itself a union
(Bi-way's registration kinds) they are told apart by a function, not by
`Field(discriminator="provider")`: pydantic would put an inline schema in the OpenAPI
discriminator mapping, which OpenAPI forbids. Each variant is still documented (oneOf), a nested
one with its own mapping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import BaseModel, Discriminator, Field, Tag

from chatbridge.integrations import registry
from chatbridge.models.fields import ProviderRequest


def _provider_of(body: Any) -> Any:
    return body.get("provider") if isinstance(body, dict) else getattr(body, "provider", None)


# Validation errors name the discriminator by this function's name: it is the field to fix.
_provider_of.__name__ = "provider"


def union_of(variants: list[tuple[str, Any]]) -> Any:
    """`variants` (tag, model) as one body type; a single variant is the model itself."""
    if len(variants) == 1:
        return variants[0][1]
    if all(isinstance(model, type) for _, model in variants):
        # plain models: pydantic's own discriminator, which OpenAPI shows as a mapping
        return Annotated[Union[tuple(model for _, model in variants)], Field(discriminator="provider")]  # noqa: UP007
    tagged = tuple(Annotated[model, Tag(tag)] for tag, model in variants)
    return Annotated[Union[tagged], Discriminator(_provider_of)]  # noqa: UP007 - built from a tuple


def registration_variants() -> list[tuple[str, Any]]:
    return [(name, registry.registration_request(name)) for name in registry.registration_providers()]


def messaging_variants(operation: str) -> list[tuple[str, Any]]:
    return [(name, registry.messaging_request(operation, name)) for name in registry.providers_of(operation)]


def _models_of(annotated: Any) -> list[type[BaseModel]]:
    """The models inside a variant (a nested union of kinds gives several)."""
    if isinstance(annotated, type) and issubclass(annotated, BaseModel):
        return [annotated]
    inner = getattr(annotated, "__origin__", None)
    members = getattr(inner, "__args__", None) or getattr(annotated, "__args__", None) or ()
    return [m for member in members for m in _models_of(member)]


def examples_of(variants: list[tuple[str, Any]]) -> dict[str, dict[str, Any]]:
    """One OpenAPI request example per model, from the model's own `examples`, named by its title."""
    examples: dict[str, dict[str, Any]] = {}
    for tag, annotated in variants:
        for model in _models_of(annotated):
            extra = model.model_config.get("json_schema_extra")
            listed = extra.get("examples") if isinstance(extra, dict) else None
            value = listed[0] if isinstance(listed, list) and listed else None
            title = str(model.model_config.get("title", model.__name__))
            summary = (model.__doc__ or title).strip().splitlines()[0]
            examples[title] = {"summary": f"{registry.integration(tag).title}: {summary}", "value": value}
    return examples


# Union name -> the operation it serves. Built on first use: a function loads only the providers
# (and their request models) of the unions its routes name.
_UNIONS = {
    "RegistrationRequest": "registrations",
    "MessageRequest": "messages",
    "BroadcastRequest": "broadcasts",
    "ConversationRequest": "conversations",
    "ChatTokenRequest": "chat-tokens",
    "TemplateRequest": "templates",
    "AgentRequest": "agents",
}

if TYPE_CHECKING:
    # For type checkers, every variant is a provider request; at run time the unions are built.
    RegistrationRequest = ProviderRequest
    MessageRequest = ProviderRequest
    BroadcastRequest = ProviderRequest
    ConversationRequest = ProviderRequest
    ChatTokenRequest = ProviderRequest
    TemplateRequest = ProviderRequest
    AgentRequest = ProviderRequest
else:

    def __getattr__(name: str) -> Any:
        operation = _UNIONS.get(name)
        if operation is None:
            raise AttributeError(name)
        variants = registration_variants() if operation == "registrations" else messaging_variants(operation)
        union = globals()[name] = union_of(variants)
        return union


# Validation errors locate a field under the union tags (`biway.company.name`); problems strip them.
REGISTRATION_BODY_TAGS = registry.body_tags(registry.registration_providers())
MESSAGING_BODY_TAGS = registry.body_tags(registry.messaging_providers())
