"""Pagination tokens: DynamoDB's LastEvaluatedKey, encrypted by the stack's KMS key (PageTokenKey).

A token is opaque (no key, id or phone number in clear: recipients' keys hold their numbers), it
cannot be forged or altered (KMS authenticates the ciphertext), and it is bound to the query that
issued it by the encryption context: a token of one message's recipients, of another user's
registrations or of another stack does not decrypt for any other query, and gets a 400.

Why KMS and not a local cipher: the layer has no AES implementation (`cryptography` is not in
layers/chatbridge/requirements.txt, and rolling one from hashlib is not worth it), a secret of our
own would need a Secrets Manager read at cold start and rotation, while KMS keeps the key material
out of the functions and rotates it yearly. The cost is one KMS call when a page has a successor
(Encrypt) and one when a client continues (Decrypt), ~5-10 ms each; the first page of a query and
every single-page answer cost nothing, and no KMS client is built before it is needed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from chatbridge.errors import BadRequestError, ConfigurationError, FieldIssue, ProviderUnavailableError
from chatbridge.observability import logger

PURPOSE = "chatbridge-page-token"
VERSION_PREFIX = "p1."
# What KMS answers for a ciphertext that is not ours for this query: altered, of another query
# (other encryption context), or of another key (IncorrectKey; moto answers AccessDenied).
NOT_OURS = frozenset({"InvalidCiphertextException", "IncorrectKeyException", "AccessDeniedException"})
MISCONFIGURED = frozenset({"NotFoundException", "DisabledException", "KMSInvalidStateException"})


def invalid_token() -> BadRequestError:
    return BadRequestError(
        "next_token is not one this API issued for this query.",
        errors=[FieldIssue("next_token", "invalid token")],
    )


def _context(query: str) -> dict[str, str]:
    # CloudTrail records encryption contexts in clear: the query (a user id, a message id) is hashed.
    return {"purpose": PURPOSE, "query": hashlib.sha256(query.encode("utf-8")).hexdigest()}


def _key_id() -> str:
    from chatbridge.settings import get_settings

    key_id = get_settings().page_token_key_id
    if not key_id:
        raise ConfigurationError("PAGE_TOKEN_KEY_ID is not set: a page with a successor cannot be answered.")
    return key_id


def _kms() -> Any:
    from chatbridge.aws import kms_client

    return kms_client()


def _error_code(exc: Exception) -> str:
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _unavailable(exc: Exception) -> ConfigurationError | ProviderUnavailableError:
    code = _error_code(exc)
    if code in MISCONFIGURED:
        return ConfigurationError(f"The page token key cannot be used ({code}): check PAGE_TOKEN_KEY_ID.")
    return ProviderUnavailableError(
        f"The key service (KMS) failed ({code or type(exc).__name__}); try again.", title="Key service unavailable"
    )


def seal(last_key: dict[str, Any] | None, query: str) -> str | None:
    """The token continuing `query` after `last_key` (None: there is no next page)."""
    if not last_key:
        return None
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = _kms().encrypt(
            KeyId=_key_id(),
            Plaintext=json.dumps(last_key, separators=(",", ":")).encode("utf-8"),
            EncryptionContext=_context(query),
        )
    except (BotoCoreError, ClientError) as exc:
        raise _unavailable(exc) from exc
    blob: bytes = answer["CiphertextBlob"]
    return VERSION_PREFIX + base64.urlsafe_b64encode(blob).decode("ascii").rstrip("=")


def open_token(
    token: str | None, query: str, expected_keys: set[str], *, subset: bool = False
) -> dict[str, Any] | None:
    """The LastEvaluatedKey a token of `query` holds; BadRequestError for any other token.

    `subset`: the token holds some of `expected_keys` (the cursors of a list merged from several
    partitions, where an exhausted or untouched partition has none)."""
    if not token:
        return None
    if not token.startswith(VERSION_PREFIX):
        raise invalid_token()
    body = token[len(VERSION_PREFIX) :]
    try:
        blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise invalid_token() from exc
    if not blob:
        raise invalid_token()
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = _kms().decrypt(KeyId=_key_id(), CiphertextBlob=blob, EncryptionContext=_context(query))
    except ClientError as exc:
        if _error_code(exc) in NOT_OURS:
            logger.info("page token refused", extra={"reason": _error_code(exc)})
            raise invalid_token() from exc
        raise _unavailable(exc) from exc
    except BotoCoreError as exc:
        raise _unavailable(exc) from exc
    try:
        decoded = json.loads(answer["Plaintext"])
    except ValueError as exc:
        raise invalid_token() from exc
    well_formed = (
        isinstance(decoded, dict)
        and bool(decoded)
        and (set(decoded) <= expected_keys if subset else set(decoded) == expected_keys)
        and all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in decoded.values())
    )
    if not well_formed:
        raise invalid_token()
    return dict(decoded)
