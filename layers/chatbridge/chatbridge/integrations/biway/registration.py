"""Bi-way registrations: establishments and accounts (partner), RCS testers (user).

Each is created at Bi-way and waits in pending verification; Bi-way's callbacks, which name the
resource by Bi-way's id (our `provider_ref`), change the status afterwards. A creation that got
no answer is stored `unknown`; Bi-way's 409 to a later creation of the same one resolves it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chatbridge.clock import derived_id, utc_now
from chatbridge.errors import OutcomeUnknownError, ProviderConflictError
from chatbridge.integrations.biway.client import (
    PROVIDER,
    BiwayAccountPayload,
    BiwayAnswer,
    BiwayClient,
    BiwayCompanyPayload,
    BiwayConnection,
    BiwayTesterPayload,
)
from chatbridge.integrations.biway.requests import (
    BiwayAccountRegistrationRequest,
    BiwayCompanyRegistrationRequest,
    BiwayTesterRegistrationRequest,
)
from chatbridge.integrations.interface import unknown_outcome
from chatbridge.message_statuses import UNKNOWN_STATUS
from chatbridge.observability import logger
from chatbridge.secrets import load_connection
from chatbridge.store import get_store
from chatbridge.store.items import RegistrationItem

BiwayRegistration = BiwayCompanyRegistrationRequest | BiwayAccountRegistrationRequest | BiwayTesterRegistrationRequest
# What a new registration shows until a callback reports Bi-way's verdict.
STATUS_ON_CREATION = "pending_verification"
NOT_FORWARDED = {"provider", "kind", "connection", "attributes"}
RESOLVED_BY_DUPLICATE = (
    "Bi-way sends no callback we can match to it before it has Bi-way's id; registering the same one again "
    "(another Idempotency-Key) resolves it when Bi-way answers that it already holds it."
)


def _forwarded(request: BiwayRegistration) -> dict[str, Any]:
    """The caller's free attributes, then the typed fields (which win on a shared name)."""
    return {**(request.attributes or {}), **request.model_dump(mode="json", exclude=NOT_FORWARDED, exclude_none=True)}


def _identity(request: BiwayRegistration) -> tuple[str, tuple[str, ...]]:
    """The registration's user_id and the natural key its id derives from."""
    if isinstance(request, BiwayCompanyRegistrationRequest):
        return request.siret, (request.siret,)
    if isinstance(request, BiwayAccountRegistrationRequest):
        return request.email, (request.email,)
    # A phone may test several agents: one registration per (agent, phone).
    return request.phone, (request.agent_id, request.phone)


def _create(client: BiwayClient, request: BiwayRegistration) -> BiwayAnswer:
    body = _forwarded(request)
    if isinstance(request, BiwayCompanyRegistrationRequest):
        return client.create_company(BiwayCompanyPayload.model_validate(body))
    if isinstance(request, BiwayAccountRegistrationRequest):
        return client.create_account(BiwayAccountPayload.model_validate(body))
    return client.register_tester(BiwayTesterPayload.model_validate(body))


def register(request: BiwayRegistration) -> tuple[RegistrationItem, bool]:
    connection = load_connection(PROVIDER, request.connection, BiwayConnection)
    user_id, natural_key = _identity(request)
    registration_id = derived_id(PROVIDER, request.connection, request.kind, *natural_key)
    sent_at = utc_now()
    try:
        answer = _create(BiwayClient(connection), request)
    except OutcomeUnknownError as unknown:
        unknown_item = _item(
            request, registration_id, user_id=user_id, status=UNKNOWN_STATUS, reference=None, at=sent_at
        )
        unknown_item.details["outcome_unknown"] = unknown_outcome(unknown, RESOLVED_BY_DUPLICATE)
        return unknown_item, False
    except ProviderConflictError:
        # Bi-way already holds it: ours, if an earlier attempt got no answer.
        resolved = _resolved(registration_id)
        if resolved is None:
            raise
        return resolved, False
    if answer.reference is None:
        logger.warning("Bi-way gave no id: its callbacks cannot be matched", extra={"kind": request.kind})
    state = answer.body.get("state")
    # Only the state: the rest of an answer Bi-way does not document could hold credentials.
    created = _item(
        request, registration_id, user_id=user_id, status=STATUS_ON_CREATION, reference=answer.reference, at=utc_now()
    )
    created.details["state_at_creation"] = state if isinstance(state, str) else None
    return created, True


def _item(
    request: BiwayRegistration,
    registration_id: str,
    *,
    user_id: str,
    status: str,
    reference: str | None,
    at: datetime,
) -> RegistrationItem:
    details: dict[str, Any] = {
        "kind": request.kind,
        **request.model_dump(mode="json", exclude={"provider", "kind", "connection"}, exclude_none=True),
    }
    return RegistrationItem(
        id=registration_id,
        provider=PROVIDER,
        connection=request.connection,
        status=status,
        user_id=user_id,
        provider_ref=reference,
        details=details,
        created_at=at,
        updated_at=at,
    )


def _resolved(registration_id: str) -> RegistrationItem | None:
    """The registration stored `unknown` under this id, now known to exist at Bi-way; None if there is none."""
    stored = get_store().get_registration(registration_id)
    if stored is None or stored.status != UNKNOWN_STATUS:
        return None
    note = (
        "Bi-way answered 409 (it already holds this resource) to a later registration: the attempt whose answer "
        "never came back created it. Bi-way gave no id with the 409, so its callbacks cannot be matched."
    )
    return stored.model_copy(
        update={
            "status": STATUS_ON_CREATION,
            "details": {**stored.details, "resolution": note},
            "updated_at": utc_now(),
        }
    )
