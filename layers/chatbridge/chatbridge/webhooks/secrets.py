"""Signing secrets, sealed with KMS (the key named by WEBHOOK_SECRETS_KEY_ID) and bound to their
subscription by the encryption context. A secret is shown once, when it is created; it is never
logged, traced or returned by a GET. The delivery function opens each sealed secret once per
execution environment (a small cache keyed by the ciphertext), not once per delivery.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from chatbridge.errors import ConfigurationError
from chatbridge.sealing import seal_with, unseal_with

CONTEXT_PURPOSE = "chatbridge-webhook-signing-secret"
KEY_SETTING = "WEBHOOK_SECRETS_KEY_ID"
CACHE_SIZE = 512

_opened: OrderedDict[tuple[str, str], str] = OrderedDict()
_lock = threading.Lock()


def _context(webhook_id: str) -> dict[str, str]:
    return {"purpose": CONTEXT_PURPOSE, "webhook_id": webhook_id}


def _key_id() -> str:
    from chatbridge.settings import get_settings

    key_id = get_settings().webhook_secrets_key_id
    if not key_id:
        raise ConfigurationError(f"{KEY_SETTING} is not set: signing secrets cannot be stored.")
    return key_id


def seal_secret(secret: str, webhook_id: str) -> tuple[str, str]:
    """(base64 ciphertext, ARN of the key)."""
    return seal_with({"secret": secret}, key_id=_key_id(), context=_context(webhook_id), key_setting=KEY_SETTING)


def open_secret(ciphertext: str, webhook_id: str) -> str:
    cache_key = (webhook_id, ciphertext)
    with _lock:
        found = _opened.get(cache_key)
        if found is not None:
            _opened.move_to_end(cache_key)
            return found
    secret = unseal_with(ciphertext, context=_context(webhook_id), key_setting=KEY_SETTING)["secret"]
    with _lock:
        _opened[cache_key] = secret
        while len(_opened) > CACHE_SIZE:
            _opened.popitem(last=False)
    return secret


def forget_opened() -> None:
    with _lock:
        _opened.clear()
