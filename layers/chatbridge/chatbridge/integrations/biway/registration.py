"""Bi-way registrations: establishments and accounts (partner), RCS testers (user).

Each is created at Bi-way and waits in pending verification; Bi-way's callbacks, which name the
resource by Bi-way's id (our `provider_ref`), change the status afterwards.
"""

from __future__ import annotations

from typing import Any

from chatbridge.clock import derived_id, utc_now
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
from chatbridge.observability import logger
from chatbridge.secrets import load_connection
from chatbridge.store.items import RegistrationItem

BiwayRegistration = BiwayCompanyRegistrationRequest | BiwayAccountRegistrationRequest | BiwayTesterRegistrationRequest
# What a new registration shows until a callback reports Bi-way's verdict.
STATUS_ON_CREATION = "pending_verification"
NOT_FORWARDED = {"provider", "kind", "connection", "attributes"}


def _forwarded(request: BiwayRegistration) -> dict[str, Any]:
    """The caller's free attributes, then the typed fields (which win on a shared name)."""
    return {**(request.attributes or {}), **request.model_dump(mode="json", exclude=NOT_FORWARDED, exclude_none=True)}


def _create(client: BiwayClient, request: BiwayRegistration) -> tuple[BiwayAnswer, str, tuple[str, ...]]:
    """Bi-way's answer, the registration's user_id and the natural key its id derives from."""
    body = _forwarded(request)
    if isinstance(request, BiwayCompanyRegistrationRequest):
        return client.create_company(BiwayCompanyPayload.model_validate(body)), request.siret, (request.siret,)
    if isinstance(request, BiwayAccountRegistrationRequest):
        return client.create_account(BiwayAccountPayload.model_validate(body)), request.email, (request.email,)
    # A phone may test several agents: one registration per (agent, phone).
    answer = client.register_tester(BiwayTesterPayload.model_validate(body))
    return answer, request.phone, (request.agent_id, request.phone)


def register(request: BiwayRegistration) -> tuple[RegistrationItem, bool]:
    connection = load_connection(PROVIDER, request.connection, BiwayConnection)
    answer, user_id, natural_key = _create(BiwayClient(connection), request)
    if answer.reference is None:
        logger.warning("Bi-way gave no id: its callbacks cannot be matched", extra={"kind": request.kind})
    state = answer.body.get("state")
    now = utc_now()
    item = RegistrationItem(
        id=derived_id(PROVIDER, request.connection, request.kind, *natural_key),
        provider=PROVIDER,
        connection=request.connection,
        status=STATUS_ON_CREATION,
        user_id=user_id,
        provider_ref=answer.reference,
        details={
            "kind": request.kind,
            **request.model_dump(mode="json", exclude={"provider", "kind", "connection"}, exclude_none=True),
            # Only the state: the rest of an answer Bi-way does not document could hold credentials.
            "state_at_creation": state if isinstance(state, str) else None,
        },
        created_at=now,
        updated_at=now,
    )
    return item, True
