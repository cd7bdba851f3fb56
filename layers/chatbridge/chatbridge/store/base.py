"""Store interfaces the logic depends on, and the cached factory that builds the real one."""

from __future__ import annotations

from functools import cache
from typing import Protocol

from chatbridge.store.items import ApiKeyItem, PresenceItem, RegistrationItem, SealedCredentialsItem


class RegistrationStore(Protocol):
    def save_registration(self, item: RegistrationItem) -> RegistrationItem:
        """Create or update; `created_at` of an existing registration is kept."""
        ...

    def get_registration(self, registration_id: str) -> RegistrationItem | None: ...

    def find_registrations(
        self, provider: str, user_id: str, limit: int, next_token: str | None
    ) -> tuple[list[RegistrationItem], str | None]: ...

    def find_registration_by_provider_ref(self, provider: str, provider_ref: str) -> RegistrationItem | None:
        """The registration the provider knows as `provider_ref` (what its callbacks name)."""
        ...

    def apply_presence(self, registration_id: str, presence: PresenceItem) -> bool:
        """Record a presence newer than the stored one; False if older, the same, or no such registration."""
        ...

    def apply_verification_status(self, registration_id: str, status: str, version: str) -> bool:
        """Set the status a provider reported if `version` is newer than the last applied; False otherwise."""
        ...


class CredentialStore(Protocol):
    def save_credentials(self, item: SealedCredentialsItem) -> None: ...

    def get_credentials(self, registration_id: str) -> SealedCredentialsItem | None: ...


class ApiKeyStore(Protocol):
    def put_api_key(self, item: ApiKeyItem) -> None: ...

    def get_api_key(self, key_hash: str) -> ApiKeyItem | None: ...


class Store(RegistrationStore, CredentialStore, ApiKeyStore, Protocol):
    pass


@cache
def get_store() -> Store:
    from chatbridge.aws import dynamodb_client
    from chatbridge.settings import get_settings
    from chatbridge.store.dynamodb import DynamoStore

    return DynamoStore(dynamodb_client(), get_settings().table_name)
