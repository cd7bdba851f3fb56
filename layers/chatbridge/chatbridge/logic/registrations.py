"""Registering bot users at providers and reading registrations back."""

from __future__ import annotations

from chatbridge.errors import NotFoundError
from chatbridge.integrations import registry
from chatbridge.logic.outcomes import unknown_detail, unknown_outcome_error
from chatbridge.message_statuses import UNKNOWN_STATUS
from chatbridge.models.registrations import Registration, RegistrationOutcome, RegistrationPage
from chatbridge.models.requests import RegistrationRequest
from chatbridge.store import RegistrationStore, get_store
from chatbridge.store.items import RegistrationItem
from chatbridge.store.lists import RegistrationFilters


def to_resource(item: RegistrationItem) -> Registration:
    # presence is excluded from item dumps (see RegistrationItem), so it is passed on explicitly
    presence = item.presence.model_dump() if item.presence else None
    return Registration.model_validate({**item.model_dump(), "presence": presence})


def create_registration(
    request: RegistrationRequest, *, caller: str, idempotency_key: str | None, store: RegistrationStore | None = None
) -> RegistrationOutcome:
    def compute() -> dict[str, object]:
        item, created = registry.registrar(request.provider)(request)
        if item.status != UNKNOWN_STATUS:
            saved = (store or get_store()).save_registration(item)
            return RegistrationOutcome(created=created, registration=to_resource(saved)).model_dump(mode="json")
        # The provider may hold it: stored `unknown` unless we already know more of this registration.
        saved, _ = (store or get_store()).create_registration_if_absent(item)
        detail = unknown_detail("registration", saved, item.details, keyed=bool(idempotency_key))
        outcome = RegistrationOutcome(created=False, registration=to_resource(saved), outcome_unknown=detail)
        return outcome.model_dump(mode="json")

    from chatbridge.idempotency import run_once  # Powertools idempotency loads only when first needed

    answer = run_once("registrations.create", idempotency_key, caller, request.model_dump(mode="json"), compute)
    outcome = RegistrationOutcome.model_validate(answer)
    if outcome.outcome_unknown:
        registration = outcome.registration
        location = f"/v1/registrations/{registration.id}"
        raise unknown_outcome_error(registration.provider, outcome.outcome_unknown, registration.id, location)
    return outcome


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


def list_registrations(
    filters: RegistrationFilters, limit: int, next_token: str | None, store: RegistrationStore | None = None
) -> RegistrationPage:
    items, token = (store or get_store()).list_registrations(filters, limit, next_token)
    return RegistrationPage(items=[to_resource(i) for i in items], next_token=token)
