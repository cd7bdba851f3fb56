"""Credentials a provider issues to us (Imbee's user `pass` and `apikey`), sealed with KMS.

The values are encrypted directly with the deployment's KMS key (they are far below KMS's 4 KiB
limit, so no envelope scheme is needed) and bound to their registration by the encryption
context: a ciphertext copied onto another registration does not decrypt.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from chatbridge.errors import ConfigurationError, ProviderUnavailableError

CONTEXT_PURPOSE = "chatbridge-provider-credentials"
# KMS errors that say the key or its permissions are wrong, as opposed to KMS being unavailable.
MISCONFIGURED = frozenset(
    {
        "NotFoundException",
        "DisabledException",
        "KMSInvalidStateException",
        "AccessDeniedException",
        "InvalidKeyUsageException",
    }
)


def _context(provider: str, registration_id: str) -> dict[str, str]:
    return {"purpose": CONTEXT_PURPOSE, "provider": provider, "registration_id": registration_id}


def _key_id() -> str:
    from chatbridge.settings import get_settings

    key_id = get_settings().credentials_key_id
    if not key_id:
        raise ConfigurationError("CREDENTIALS_KEY_ID is not set: provider credentials cannot be stored.")
    return key_id


def _kms() -> Any:
    from chatbridge.aws import kms_client

    return kms_client()


def _failure(
    exc: Exception, consequence: str, key_setting: str = "CREDENTIALS_KEY_ID"
) -> ConfigurationError | ProviderUnavailableError:
    response: dict[str, Any] = getattr(exc, "response", None) or {}  # botocore ClientError carries one
    code = str(response.get("Error", {}).get("Code", ""))
    if code in MISCONFIGURED:
        label = "credentials key" if key_setting == "CREDENTIALS_KEY_ID" else "key"
        return ConfigurationError(f"The {label} cannot be used ({code}): check {key_setting} and its policy.")
    return ProviderUnavailableError(
        f"The key service (KMS) failed ({code or type(exc).__name__}); {consequence}", title="Key service unavailable"
    )


def seal(values: dict[str, str], *, provider: str, registration_id: str) -> tuple[str, str]:
    """(base64 ciphertext, ARN of the key used)."""
    return seal_with(values, key_id=_key_id(), context=_context(provider, registration_id))


def unseal(ciphertext: str, *, provider: str, registration_id: str) -> dict[str, str]:
    try:
        return unseal_with(ciphertext, context=_context(provider, registration_id))
    except InvalidCiphertextError as exc:
        raise ConfigurationError(
            f"The stored credentials of registration {registration_id} do not decrypt with their context."
        ) from exc


class InvalidCiphertextError(ValueError):
    """The ciphertext does not decrypt with this encryption context (copied onto another record)."""


def seal_with(
    values: dict[str, str], *, key_id: str, context: dict[str, str], key_setting: str = "CREDENTIALS_KEY_ID"
) -> tuple[str, str]:
    """Encrypt small values with a KMS key, bound to `context`: (base64 ciphertext, ARN of the key)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = _kms().encrypt(
            KeyId=key_id,
            Plaintext=json.dumps(values, separators=(",", ":")).encode("utf-8"),
            EncryptionContext=context,
        )
    except (BotoCoreError, ClientError) as exc:
        raise _failure(exc, "nothing was saved; retrying is safe.", key_setting) from exc
    return base64.b64encode(answer["CiphertextBlob"]).decode("ascii"), str(answer["KeyId"])


def unseal_with(ciphertext: str, *, context: dict[str, str], key_setting: str = "CREDENTIALS_KEY_ID") -> dict[str, str]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = _kms().decrypt(CiphertextBlob=base64.b64decode(ciphertext), EncryptionContext=context)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "InvalidCiphertextException":
            raise InvalidCiphertextError("the ciphertext does not decrypt with its context") from exc
        raise _failure(exc, "try again.", key_setting) from exc
    except BotoCoreError as exc:
        raise _failure(exc, "try again.", key_setting) from exc
    values: dict[str, str] = json.loads(answer["Plaintext"])
    return values
