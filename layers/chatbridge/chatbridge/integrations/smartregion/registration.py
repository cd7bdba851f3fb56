"""SmartRegion registration: connection defaults, the provider call, the stored record."""

from __future__ import annotations

from chatbridge.clock import derived_id, utc_now
from chatbridge.integrations.smartregion.client import (
    PROVIDER,
    SmartRegionClient,
    SmartRegionConnection,
    SmartRegionRegistrationPayload,
)
from chatbridge.integrations.smartregion.requests import SmartRegionRegistrationRequest
from chatbridge.secrets import load_connection
from chatbridge.store.items import RegistrationItem


def register(request: SmartRegionRegistrationRequest) -> tuple[RegistrationItem, bool]:
    connection = load_connection(PROVIDER, request.connection, SmartRegionConnection)
    payload = SmartRegionRegistrationPayload(
        channel_id=request.channel_id or connection.channel_id,
        project_id=request.project_id or connection.project_id,
        payload=request.payload,
        user_field=request.user_field,
        user_id=request.user_id,
    )
    answer = SmartRegionClient(connection).register_user(payload)
    now = utc_now()
    # user_id is unique per channel at SmartRegion, so a re-registration updates the same record.
    item = RegistrationItem(
        id=derived_id(PROVIDER, payload.project_id, payload.channel_id, payload.user_id),
        provider=PROVIDER,
        connection=request.connection,
        status="registered",
        user_id=payload.user_id,
        details={
            "channel_id": payload.channel_id,
            "project_id": payload.project_id,
            "payload": payload.payload,
            "user_field": payload.user_field or {},
            "last_outcome": answer.outcome,
        },
        created_at=now,
        updated_at=now,
    )
    return item, answer.outcome == "created"
