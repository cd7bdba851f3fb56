"""Registering bot users at providers and reading registrations back."""

from __future__ import annotations

import importlib
from typing import Protocol

from chatbridge.errors import NotFoundError
from chatbridge.models.registrations import (
    Registration,
    RegistrationOutcome,
    RegistrationPage,
    RegistrationRequest,
)
from chatbridge.store import RegistrationStore, get_store
from chatbridge.store.items import RegistrationItem


class Registrar(Protocol):
    """Per-provider step: call the provider and describe the registration to store."""

    def __call__(self, request: RegistrationRequest) -> tuple[RegistrationItem, bool]: ...


# Imported on first use so a cold start loads only the provider it serves.
_REGISTRAR_MODULES = {
    "smartregion": "chatbridge.logic.smartregion",
    "smartico": "chatbridge.logic.smartico",
    "imbee": "chatbridge.logic.imbee",
    "biway": "chatbridge.logic.biway",
}


def _registrar_for(provider: str) -> Registrar:
    module = importlib.import_module(_REGISTRAR_MODULES[provider])
    registrar: Registrar = module.register
    return registrar


def to_resource(item: RegistrationItem) -> Registration:
    # presence is excluded from item dumps (see RegistrationItem), so it is passed on explicitly
    presence = item.presence.model_dump() if item.presence else None
    return Registration.model_validate({**item.model_dump(), "presence": presence})


def create_registration(
    request: RegistrationRequest, *, caller: str, idempotency_key: str | None, store: RegistrationStore | None = None
) -> RegistrationOutcome:
    def compute() -> dict[str, object]:
        item, created = _registrar_for(request.provider)(request)
        saved = (store or get_store()).save_registration(item)
        return RegistrationOutcome(created=created, registration=to_resource(saved)).model_dump(mode="json")

    from chatbridge.idempotency import run_once  # Powertools idempotency loads only when first needed

    answer = run_once("registrations.create", idempotency_key, caller, request.model_dump(mode="json"), compute)
    return RegistrationOutcome.model_validate(answer)


def get_registration(registration_id: str, store: RegistrationStore | None = None) -> Registration:
    item = (store or get_store()).get_registration(registration_id)
    if item is None:
        raise NotFoundError(f"No registration with id {registration_id}.", title="Registration not found")
    return to_resource(item)


def find_registrations(
    provider: str, user_id: str, limit: int, next_token: str | None, store: RegistrationStore | None = None
) -> RegistrationPage:
    items, token = (store or get_store()).find_registrations(provider, user_id, limit, next_token)
    return RegistrationPage(items=[to_resource(i) for i in items], next_token=token)
