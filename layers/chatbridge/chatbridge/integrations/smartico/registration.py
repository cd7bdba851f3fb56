"""Smartico affiliate registration: the provider call and the stored record (never the password)."""

from __future__ import annotations

from chatbridge.clock import derived_id, utc_now
from chatbridge.integrations.smartico.client import (
    PROVIDER,
    SmarticoAffiliatePayload,
    SmarticoClient,
    SmarticoConnection,
)
from chatbridge.integrations.smartico.requests import SmarticoRegistrationRequest
from chatbridge.secrets import load_connection
from chatbridge.store.items import RegistrationItem

# Neither is stored: the password is the affiliate's, the reCAPTCHA token is single-use.
NOT_STORED = {"provider", "connection", "password", "token"}


def register(request: SmarticoRegistrationRequest) -> tuple[RegistrationItem, bool]:
    connection = load_connection(PROVIDER, request.connection, SmarticoConnection)
    fields = request.model_dump(exclude={"provider", "connection"}, exclude_none=True)
    payload = SmarticoAffiliatePayload(hostname=connection.hostname, **fields)
    affiliate = SmarticoClient(connection).register_affiliate(payload)
    now = utc_now()
    # The document: with a manager the affiliate is approved at once, otherwise it waits in a pending state.
    status = "approved" if request.manager_id is not None else "pending_approval"
    item = RegistrationItem(
        # Usernames are unique per operator (hostname) at Smartico, so they key the registration.
        id=derived_id(PROVIDER, connection.hostname, request.username),
        provider=PROVIDER,
        connection=request.connection,
        status=status,
        user_id=request.username,
        provider_ref=affiliate.affiliate_id,
        details={
            "hostname": connection.hostname,
            **request.model_dump(mode="json", exclude=NOT_STORED, exclude_none=True),
        },
        created_at=now,
        updated_at=now,
    )
    return item, True
