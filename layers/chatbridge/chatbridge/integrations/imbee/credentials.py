"""The credentials Imbee issues to each external user: sealed on registration, opened to act for the user.

Imbee answers a user creation with the user's `pass` and `apikey`. Chats are opened on the user's
behalf with that apikey (`X-WOOS-KEY`), so the gateway keeps them, sealed with KMS
(`chatbridge.sealing`), in an item of their own that no registration read returns.
"""

from __future__ import annotations

from pydantic import SecretStr

from chatbridge.clock import utc_now
from chatbridge.errors import NotFoundError
from chatbridge.integrations.imbee.client import PROVIDER, ImbeeUser
from chatbridge.models.base import Model
from chatbridge.sealing import seal, unseal
from chatbridge.store import Store, get_store
from chatbridge.store.items import SealedCredentialsItem


class ImbeeUserCredentials(Model):
    virtual_user: str
    apikey: SecretStr


def store_imbee_user_credentials(registration_id: str, user: ImbeeUser, store: Store | None = None) -> None:
    values = {
        "virtual_user": user.virtual_user,
        "pass": user.pass_.get_secret_value(),
        "apikey": user.apikey.get_secret_value(),
    }
    ciphertext, key_id = seal(values, provider=PROVIDER, registration_id=registration_id)
    (store or get_store()).save_credentials(
        SealedCredentialsItem(
            registration_id=registration_id,
            provider=PROVIDER,
            ciphertext=ciphertext,
            key_id=key_id,
            updated_at=utc_now(),
        )
    )


def imbee_user_credentials(registration_id: str, store: Store | None = None) -> ImbeeUserCredentials:
    """The user's virtual_user and apikey; NotFoundError when no Imbee registration has this id."""
    store = store or get_store()
    registration = store.get_registration(registration_id)
    sealed = store.get_credentials(registration_id) if registration and registration.provider == PROVIDER else None
    if sealed is None:
        raise NotFoundError(f"No Imbee registration with id {registration_id}.", title="Imbee user not found")
    values = unseal(sealed.ciphertext, provider=PROVIDER, registration_id=registration_id)
    return ImbeeUserCredentials(virtual_user=values["virtual_user"], apikey=SecretStr(values["apikey"]))
