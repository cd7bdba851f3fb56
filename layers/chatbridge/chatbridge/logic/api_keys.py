"""API keys: random tokens shown once; only their SHA-256 is stored.

The keys carry 256 bits of randomness, so a fast hash is enough: there is nothing to brute-force.
Each key has a name, scopes (chatbridge.access), optional provider limits and an optional expiry;
revoking marks it, and keeps it listed.

How fast a revocation bites: `authenticate` has no cache of its own and reads the key with a
consistent GetItem, so the only delay is the HttpApi authorizer cache (`ReauthorizeEvery` in
template.yaml, REVOCATION_BOUND_SECONDS at most; a contract test holds it there). An expiry is
exact: the authorizer refuses an expired key, and the edge checks the expiry it passed on, so a
cached answer does not outlive it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Iterator
from datetime import datetime

from chatbridge import page_tokens
from chatbridge.access import Grant, ScopeError, check_provider_limits, expand_scopes
from chatbridge.clock import utc_now
from chatbridge.errors import FieldIssue, NotFoundError, ValidationFailedError
from chatbridge.integrations import registry
from chatbridge.models.api_keys import ApiKey, ApiKeyPage, ApiKeyStatus, IssuedApiKey
from chatbridge.store import ApiKeyStore, get_store
from chatbridge.store.items import ApiKeyItem

KEY_PREFIX = "cbk_"
MAX_KEY_LENGTH = 128
# The longest a revoked key may still be accepted: the authorizer cache TTL plus any in-function
# cache (there is none: IN_FUNCTION_CACHE_SECONDS).
REVOCATION_BOUND_SECONDS = 60
IN_FUNCTION_CACHE_SECONDS = 0
LIST_QUERY = "api-keys"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def status_of(item: ApiKeyItem, now: datetime) -> ApiKeyStatus:
    if item.revoked_at is not None or not item.active:
        return "revoked"
    if item.valid_until is not None and item.valid_until <= now:
        return "expired"
    return "active"


def to_resource(item: ApiKeyItem, now: datetime) -> ApiKey:
    return ApiKey(
        id=item.key_id,
        name=item.name,
        status=status_of(item, now),
        scopes=list(item.scopes or []),
        providers=list(item.providers),
        created_at=item.created_at,
        expires_at=item.valid_until,
        revoked_at=item.revoked_at,
        created_by=item.created_by,
    )


def _invalid(field: str, message: str) -> ValidationFailedError:
    return ValidationFailedError(f"{field}: {message}", errors=[FieldIssue(field=field, message=message)])


def issue_api_key(
    name: str,
    *,
    scopes: Iterable[str],
    providers: Iterable[str] = (),
    expires_at: datetime | None = None,
    created_by: str | None = None,
    store: ApiKeyStore | None = None,
    now: datetime | None = None,
) -> IssuedApiKey:
    """Store a new key and return it, the key itself included (the only time it is shown)."""
    now = now or utc_now()
    if not name.strip():
        raise _invalid("name", "must not be empty")
    try:
        granted = expand_scopes(scopes)
    except ScopeError as exc:
        raise _invalid("scopes", str(exc)) from exc
    try:
        limits = check_provider_limits(providers, registry.names())
    except ScopeError as exc:
        raise _invalid("providers", str(exc)) from exc
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= now):
        raise _invalid("expires_at", "must be a time zone aware instant in the future")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    key_hash = hash_key(key)
    item = ApiKeyItem(
        key_hash=key_hash,
        key_id=key_hash[:12],
        name=name.strip(),
        created_at=now,
        scopes=list(granted),
        providers=list(limits),
        valid_until=expires_at,
        created_by=created_by,
    )
    (store or get_store()).put_api_key(item)
    return IssuedApiKey(**to_resource(item, now).model_dump(), key=key)


def authenticate(key: str | None, store: ApiKeyStore | None = None, now: datetime | None = None) -> Grant | None:
    """The key's grant; None for an unknown, revoked, expired or pre-scopes key. Store errors propagate."""
    if not key or not key.startswith(KEY_PREFIX) or len(key) > MAX_KEY_LENGTH:
        return None
    item = (store or get_store()).get_api_key(hash_key(key))
    if item is None or item.scopes is None or status_of(item, now or utc_now()) != "active":
        return None
    return Grant(
        key_id=item.key_id,
        name=item.name,
        scopes=frozenset(item.scopes),
        providers=frozenset(item.providers),
        expires_at=item.valid_until,
    )


def list_api_keys(
    limit: int = 50, next_token: str | None = None, store: ApiKeyStore | None = None, now: datetime | None = None
) -> ApiKeyPage:
    now = now or utc_now()
    start = page_tokens.open_token(next_token, LIST_QUERY, {"pk", "sk", "gsi1pk", "gsi1sk"})
    items, last = (store or get_store()).api_keys_page(limit, start)
    return ApiKeyPage(items=[to_resource(i, now) for i in items], next_token=page_tokens.seal(last, LIST_QUERY))


def every_api_key(store: ApiKeyStore | None = None, now: datetime | None = None) -> Iterator[ApiKey]:
    """Every key, page after page (for the command line: no token leaves the process)."""
    store = store or get_store()
    now = now or utc_now()
    start: dict[str, object] | None = None
    while True:
        items, start = store.api_keys_page(100, start)
        yield from (to_resource(i, now) for i in items)
        if not start:
            return


def _found(key_id: str, store: ApiKeyStore) -> ApiKeyItem:
    item = store.find_api_key(key_id) if key_id else None
    if item is None:
        raise NotFoundError(f"No API key with id {key_id}.", title="API key not found")
    return item


def get_api_key(key_id: str, store: ApiKeyStore | None = None, now: datetime | None = None) -> ApiKey:
    return to_resource(_found(key_id, store or get_store()), now or utc_now())


def revoke_api_key(key_id: str, store: ApiKeyStore | None = None, now: datetime | None = None) -> ApiKey:
    """Revoke (idempotent: a second revocation keeps the first one's time). Refused within the bound above."""
    store = store or get_store()
    now = now or utc_now()
    revoked = store.revoke_api_key(_found(key_id, store).key_hash, now.isoformat())
    if revoked is None:
        raise NotFoundError(f"No API key with id {key_id}.", title="API key not found")
    return to_resource(revoked, now)
