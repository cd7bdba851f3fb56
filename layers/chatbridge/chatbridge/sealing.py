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


def _failure(exc: Exception, consequence: str) -> ConfigurationError | ProviderUnavailableError:
    response: dict[str, Any] = getattr(exc, "response", None) or {}  # botocore ClientError carries one
    code = str(response.get("Error", {}).get("Code", ""))
    if code in MISCONFIGURED:
        return ConfigurationError(
            f"The credentials key cannot be used ({code}): check CREDENTIALS_KEY_ID and its policy."
        )
    return ProviderUnavailableError(
        f"The key service (KMS) failed ({code or type(exc).__name__}); {consequence}", title="Key service unavailable"
    )


def seal(values: dict[str, str], *, provider: str, registration_id: str) -> tuple[str, str]:
    """(base64 ciphertext, ARN of the key used)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = _kms().encrypt(
            KeyId=_key_id(),
            Plaintext=json.dumps(values, separators=(",", ":")).encode("utf-8"),
            EncryptionContext=_context(provider, registration_id),
        )
    except (BotoCoreError, ClientError) as exc:
        raise _failure(exc, "nothing was saved; retrying is safe.") from exc
    return base64.b64encode(answer["CiphertextBlob"]).decode("ascii"), str(answer["KeyId"])


def unseal(ciphertext: str, *, provider: str, registration_id: str) -> dict[str, str]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = _kms().decrypt(
            CiphertextBlob=base64.b64decode(ciphertext),
            EncryptionContext=_context(provider, registration_id),
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "InvalidCiphertextException":
            raise ConfigurationError(
                f"The stored credentials of registration {registration_id} do not decrypt with their context."
            ) from exc
        raise _failure(exc, "try again.") from exc
    except BotoCoreError as exc:
        raise _failure(exc, "try again.") from exc
    values: dict[str, str] = json.loads(answer["Plaintext"])
    return values
