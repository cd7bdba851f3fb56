"""Smartico affiliate registration: the provider call and the stored record (never the password).

A registration whose answer never came back is stored `unknown` (without the password and the
reCAPTCHA token). Smartico answers a later registration of the same affiliate USERNAME_ALREADY_EXISTS
(-7) or EMAIL_ALREADY_EXISTS (-8): that resolves the stored one, which the lost attempt created.
"""

from __future__ import annotations

from datetime import datetime

from chatbridge.clock import derived_id, utc_now
from chatbridge.errors import OutcomeUnknownError, ProviderConflictError
from chatbridge.integrations.interface import unknown_outcome
from chatbridge.integrations.smartico.client import (
    PROVIDER,
    SmarticoAffiliatePayload,
    SmarticoClient,
    SmarticoConnection,
)
from chatbridge.integrations.smartico.requests import SmarticoRegistrationRequest
from chatbridge.message_statuses import UNKNOWN_STATUS
from chatbridge.secrets import load_connection
from chatbridge.store import get_store
from chatbridge.store.items import RegistrationItem

# Neither is stored: the password is the affiliate's, the reCAPTCHA token is single-use.
NOT_STORED = {"provider", "connection", "password", "token"}
USERNAME_ALREADY_EXISTS, EMAIL_ALREADY_EXISTS = "-7", "-8"
RESOLVED_BY_DUPLICATE = (
    "Registering the same affiliate again (another Idempotency-Key, a fresh reCAPTCHA token) resolves it: "
    "Smartico then answers that the username or e-mail exists, and the registration becomes registered."
)


def _status(manager_id: object) -> str:
    # The document: with a manager the affiliate is approved at once, otherwise it waits in a pending state.
    return "approved" if manager_id is not None else "pending_approval"


def register(request: SmarticoRegistrationRequest) -> tuple[RegistrationItem, bool]:
    connection = load_connection(PROVIDER, request.connection, SmarticoConnection)
    fields = request.model_dump(exclude={"provider", "connection"}, exclude_none=True)
    payload = SmarticoAffiliatePayload(hostname=connection.hostname, **fields)
    # Usernames are unique per operator (hostname) at Smartico, so they key the registration.
    registration_id = derived_id(PROVIDER, connection.hostname, request.username)
    sent_at = utc_now()
    try:
        affiliate = SmarticoClient(connection).register_affiliate(payload)
    except OutcomeUnknownError as unknown:
        item = _item(
            request, registration_id, hostname=connection.hostname, status=UNKNOWN_STATUS, reference=None, at=sent_at
        )
        item.details["outcome_unknown"] = unknown_outcome(unknown, RESOLVED_BY_DUPLICATE)
        return item, False
    except ProviderConflictError as duplicate:
        resolved = _resolved(registration_id, request, str(duplicate.provider_code))
        if resolved is None:
            raise
        return resolved, False
    item = _item(
        request,
        registration_id,
        hostname=connection.hostname,
        status=_status(request.manager_id),
        reference=affiliate.affiliate_id,
        at=utc_now(),
    )
    return item, True


def _item(
    request: SmarticoRegistrationRequest,
    registration_id: str,
    *,
    hostname: str,
    status: str,
    reference: str | None,
    at: datetime,
) -> RegistrationItem:
    return RegistrationItem(
        id=registration_id,
        provider=PROVIDER,
        connection=request.connection,
        status=status,
        user_id=request.username,
        provider_ref=reference,
        details={"hostname": hostname, **request.model_dump(mode="json", exclude=NOT_STORED, exclude_none=True)},
        created_at=at,
        updated_at=at,
    )


def _resolved(registration_id: str, request: SmarticoRegistrationRequest, code: str) -> RegistrationItem | None:
    """The registration stored `unknown` for this username (and, for -8, this e-mail), now known to
    exist at Smartico; None when there is none, and the duplicate is someone else's."""
    stored = get_store().get_registration(registration_id)
    if stored is None or stored.status != UNKNOWN_STATUS:
        return None
    same_email = str(stored.details.get("bo_user_email", "")).lower() == request.bo_user_email.lower()
    if code not in (USERNAME_ALREADY_EXISTS, EMAIL_ALREADY_EXISTS) or (code == EMAIL_ALREADY_EXISTS and not same_email):
        return None
    said = "USERNAME_ALREADY_EXISTS" if code == USERNAME_ALREADY_EXISTS else "EMAIL_ALREADY_EXISTS"
    note = (
        f"Smartico answered {said} ({code}) to a later registration of this affiliate: the attempt whose answer "
        "never came back registered it. Smartico gives no affiliate id with that answer."
    )
    return stored.model_copy(
        update={
            # what the lost attempt sent decides the state (a manager approves at once)
            "status": _status(stored.details.get("manager_id")),
            "details": {**stored.details, "resolution": note},
            "updated_at": utc_now(),
        }
    )
