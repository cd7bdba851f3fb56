"""API keys: random tokens shown once; only their SHA-256 is stored.

The keys carry 256 bits of randomness, so a fast hash is enough: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from chatbridge.clock import utc_now
from chatbridge.store import ApiKeyStore, get_store
from chatbridge.store.items import ApiKeyItem

KEY_PREFIX = "cbk_"


@dataclass(frozen=True)
class IssuedKey:
    key: str
    key_id: str
    name: str


@dataclass(frozen=True)
class Caller:
    key_id: str
    name: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def issue_api_key(name: str, store: ApiKeyStore | None = None) -> IssuedKey:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    key_hash = hash_key(key)
    item = ApiKeyItem(key_hash=key_hash, key_id=key_hash[:12], name=name, created_at=utc_now())
    (store or get_store()).put_api_key(item)
    return IssuedKey(key=key, key_id=item.key_id, name=name)


def authenticate(key: str | None, store: ApiKeyStore | None = None) -> Caller | None:
    if not key or not key.startswith(KEY_PREFIX) or len(key) > 128:
        return None
    item = (store or get_store()).get_api_key(hash_key(key))
    if item is None or not item.active:
        return None
    return Caller(key_id=item.key_id, name=item.name)
