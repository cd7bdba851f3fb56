"""Imbee external user registration: the provider call, the sealed credentials, the stored record."""

from __future__ import annotations

from chatbridge.clock import derived_id, utc_now
from chatbridge.integrations.imbee.client import PROVIDER, ImbeeClient, ImbeeConnection, ImbeeUserRequest
from chatbridge.integrations.imbee.credentials import store_imbee_user_credentials
from chatbridge.integrations.imbee.requests import ImbeeRegistrationRequest
from chatbridge.secrets import load_connection
from chatbridge.store.items import RegistrationItem


def register(request: ImbeeRegistrationRequest) -> tuple[RegistrationItem, bool]:
    connection = load_connection(PROVIDER, request.connection, ImbeeConnection)
    user = ImbeeClient(connection).create_external_user(
        ImbeeUserRequest(
            unique_id_sha=request.unique_id_sha,
            platform=request.platform,
            device_name=request.device_name,
            hardware_id=request.hardware_id,
            os_version=request.os_version,
        )
    )
    # uniqueIdSha is unique per corporate account (connection): registering it again is the same user.
    registration_id = derived_id(PROVIDER, request.connection, request.unique_id_sha)
    # Sealed before the registration is saved: a saved Imbee registration always has its credentials.
    store_imbee_user_credentials(registration_id, user)
    now = utc_now()
    item = RegistrationItem(
        id=registration_id,
        provider=PROVIDER,
        connection=request.connection,
        status="registered",
        user_id=request.unique_id_sha,
        provider_ref=user.virtual_user,
        details={
            "virtual_user": user.virtual_user,
            **request.model_dump(
                mode="json", include={"platform", "device_name", "hardware_id", "os_version"}, exclude_none=True
            ),
            "previously_registered": user.previously_registered,
        },
        created_at=now,
        updated_at=now,
    )
    return item, not user.previously_registered
