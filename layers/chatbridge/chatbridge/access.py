"""Who may call what: API key scopes, the scope each route needs, and a key's provider limits.

A scope is `<capability>:<access>` (`registrations:read`, `messages:write`...) or `admin` (the
key-management routes, and nothing else). `<capability>:*` grants both accesses of a capability.
A key may also be limited to providers or connections (`biway`, `biway/partner`): its scopes then
apply only to requests that target them.

Each route's scope is declared once, in ROUTE_SCOPES, keyed by the HttpApi route key of
template.yaml (a contract test keeps the two in step), and checked in one place, at the edge
(`chatbridge.edge.app`), from the context the authorizer returns. Provider limits can only be checked
where the provider is known: in the routes, with `require_reach` (a request naming a provider) and
`may_see` (a resource read by id, which is then answered as not found).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from chatbridge.clock import utc_now
from chatbridge.errors import ChatbridgeError, ForbiddenError, NotFoundError, UnauthorizedError

ADMIN = "admin"
# capability -> the accesses it has
CAPABILITIES: dict[str, tuple[str, ...]] = {
    "registrations": ("read", "write"),
    "messages": ("read", "write"),
    "contacts": ("read", "write"),
    "events": ("read",),
    "webhooks": ("read", "write"),
}
SCOPES: tuple[str, ...] = (
    *(f"{capability}:{access}" for capability, accesses in CAPABILITIES.items() for access in accesses),
    ADMIN,
)
# Every scope but admin: what a bot that uses the whole API needs.
DATA_SCOPES: tuple[str, ...] = tuple(s for s in SCOPES if s != ADMIN)

ROUTE_SCOPES: dict[str, str] = {
    "POST /v1/registrations": "registrations:write",
    "GET /v1/registrations/{id}": "registrations:read",
    "GET /v1/registrations": "registrations:read",
    "POST /v1/messages": "messages:write",
    "POST /v1/broadcasts": "messages:write",
    "POST /v1/conversations": "messages:write",
    "POST /v1/chat-tokens": "messages:write",
    "POST /v1/templates": "messages:write",
    "POST /v1/agents": "messages:write",
    "GET /v1/messages/{id}": "messages:read",
    "GET /v1/messages": "messages:read",
    "GET /v1/contacts": "contacts:read",
    "GET /v1/contacts/{id}/tags": "contacts:read",
    "PUT /v1/contacts/{id}/tags/{tag}": "contacts:write",
    "DELETE /v1/contacts/{id}/tags/{tag}": "contacts:write",
    "GET /v1/contacts/{id}/variables": "contacts:read",
    "PUT /v1/contacts/{id}/variables/{name}": "contacts:write",
    "DELETE /v1/contacts/{id}/variables/{name}": "contacts:write",
    "GET /v1/events": "events:read",
    "GET /v1/api-keys": ADMIN,
    "POST /v1/api-keys": ADMIN,
    "GET /v1/api-keys/{id}": ADMIN,
    "DELETE /v1/api-keys/{id}": ADMIN,
    "GET /v1/event-types": "webhooks:read",
    "GET /v1/webhooks": "webhooks:read",
    "GET /v1/webhooks/{id}": "webhooks:read",
    "GET /v1/webhooks/{id}/deliveries": "webhooks:read",
    "POST /v1/webhooks": "webhooks:write",
    "PATCH /v1/webhooks/{id}": "webhooks:write",
    "DELETE /v1/webhooks/{id}": "webhooks:write",
    "POST /v1/webhooks/{id}/rotate-secret": "webhooks:write",
    "POST /v1/webhooks/{id}/recover": "webhooks:write",
    "POST /v1/events/{id}/replay": "webhooks:write",
    "POST /v1/admin/events/redrive": ADMIN,
}

PROVIDER_LIMIT = re.compile(r"^[a-z][a-z0-9_-]{0,31}(/[A-Za-z0-9_-]{1,64})?$")


class ScopeError(ValueError):
    """A scope or provider limit that does not exist; the message says which."""


def expand_scopes(requested: Iterable[str]) -> tuple[str, ...]:
    """Known scopes, `<capability>:*` expanded, in SCOPES order; ScopeError for anything else."""
    wanted: set[str] = set()
    for raw in requested:
        scope = raw.strip()
        capability, _, access = scope.partition(":")
        if access == "*" and capability in CAPABILITIES:
            wanted.update(f"{capability}:{a}" for a in CAPABILITIES[capability])
        elif scope in SCOPES:
            wanted.add(scope)
        else:
            raise ScopeError(f"unknown scope {scope!r}; known: {', '.join(SCOPES)} and <capability>:*")
    if not wanted:
        raise ScopeError("give at least one scope")
    return tuple(s for s in SCOPES if s in wanted)


def check_provider_limits(limits: Iterable[str], known_providers: Iterable[str]) -> tuple[str, ...]:
    """`provider` or `provider/connection` entries naming known providers; ScopeError otherwise."""
    known = set(known_providers)
    checked: list[str] = []
    for raw in limits:
        limit = raw.strip()
        if not PROVIDER_LIMIT.match(limit) or limit.partition("/")[0] not in known:
            raise ScopeError(f"unknown provider limit {limit!r}; give <provider> or <provider>/<connection>")
        if limit not in checked:
            checked.append(limit)
    return tuple(checked)


@dataclass(frozen=True)
class Grant:
    """What the authorizer found about the caller's key."""

    key_id: str
    name: str
    scopes: frozenset[str]
    providers: frozenset[str] = frozenset()  # empty: every provider
    expires_at: datetime | None = None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    def reaches(self, provider: str, connection: str) -> bool:
        return not self.providers or provider in self.providers or f"{provider}/{connection}" in self.providers

    def reaches_some(self, provider: str) -> bool:
        """Whether any connection of `provider` is within the key's limits."""
        return not self.providers or any(p == provider or p.startswith(f"{provider}/") for p in self.providers)

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


# -- the authorizer's context ------------------------------------------------------------------
# HttpApi passes the context to the route as `requestContext.authorizer.lambda`. Values are kept
# to strings and booleans, which every authorizer payload version accepts.


def authorizer_context(
    key_id: str, name: str, scopes: Iterable[str], providers: Iterable[str], expires_at: datetime | None
) -> dict[str, Any]:
    return {
        "authenticated": True,
        "key_id": key_id,
        "key_name": name,
        "scopes": " ".join(scopes),
        "providers": " ".join(providers),
        "expires_at": str(int(expires_at.timestamp())) if expires_at else "",
    }


def _context(event: Mapping[str, Any]) -> Mapping[str, Any]:
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    found = authorizer.get("lambda") if isinstance(authorizer, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def grant_of(event: Mapping[str, Any]) -> Grant | None:
    """The caller's grant; None unless the authorizer authenticated the key and gave its scopes."""
    context = _context(event)
    scopes = context.get("scopes")
    if context.get("authenticated") is not True or not isinstance(scopes, str):
        return None
    providers = context.get("providers")
    expires = str(context.get("expires_at") or "")
    return Grant(
        key_id=str(context.get("key_id") or ""),
        name=str(context.get("key_name") or ""),
        scopes=frozenset(scopes.split()),
        providers=frozenset(providers.split()) if isinstance(providers, str) else frozenset(),
        expires_at=datetime.fromtimestamp(int(expires), UTC) if expires.isdigit() else None,
    )


# -- routes --------------------------------------------------------------------------------------


def _pattern(route_key: str) -> re.Pattern[str]:
    method, _, path = route_key.partition(" ")
    parts = [("[^/]+" if re.fullmatch(r"\{[^}]+\}", part) else re.escape(part)) for part in path.split("/")]
    return re.compile(f"^{re.escape(method)} {'/'.join(parts)}$")


@cache
def _patterns() -> list[tuple[re.Pattern[str], str]]:
    """Compiled on first need: API Gateway names the route in every event, so a Lambda never needs
    them (the dev server's path-only events do); compiling ~50 patterns cost every cold start."""
    return [(_pattern(route_key), route_key) for route_key in ROUTE_SCOPES]


def route_of(event: Mapping[str, Any]) -> str | None:
    """The declared route key of the request: API Gateway's `routeKey`, else the method and path."""
    route_key = str(event.get("routeKey") or "")
    if route_key in ROUTE_SCOPES:
        return route_key
    method = str(((event.get("requestContext") or {}).get("http") or {}).get("method") or "")
    wanted = f"{method.upper()} {event.get('rawPath') or ''}"
    return next((key for pattern, key in _patterns() if pattern.match(wanted)), None)


def refusal(event: Mapping[str, Any], now: datetime | None = None) -> ChatbridgeError | None:
    """Why an authenticated request may not run its route (None: it may)."""
    route_key = route_of(event)
    if route_key is None:
        # not one of the routes template.yaml serves: nothing declares a scope for it
        return NotFoundError("No route matches this request.", title="Route not found")
    grant = grant_of(event)
    if grant is None:
        return UnauthorizedError("Send a valid API key in the `x-api-key` header.")
    if grant.expired(now or utc_now()):
        return UnauthorizedError("The API key has expired; ask for a new one.", title="API key expired")
    scope = ROUTE_SCOPES[route_key]
    if not grant.allows(scope):
        return ForbiddenError(
            f"This route needs the scope `{scope}`; the key has "
            + (", ".join(f"`{s}`" for s in sorted(grant.scopes)) or "none")
            + ".",
            required_scope=scope,
        )
    return None


def require_reach(event: Mapping[str, Any], provider: str, connection: str | None = None) -> None:
    """ForbiddenError unless the key's provider limits include the request's target.

    `connection=None` (a query over every connection of a provider) passes when some connection of
    the provider is within the limits; the route then keeps only the items `may_see` allows.
    """
    grant = grant_of(event)
    if grant is None or not grant.providers:
        return
    reached = grant.reaches_some(provider) if connection is None else grant.reaches(provider, connection)
    if not reached:
        target = provider if connection is None else f"{provider}/{connection}"
        route_key = route_of(event)
        raise ForbiddenError(
            f"This key is limited to {', '.join(sorted(grant.providers))}; the request targets {target}.",
            title="API key not allowed for this provider",
            required_scope=ROUTE_SCOPES.get(route_key or ""),
        )


def may_see(event: Mapping[str, Any], provider: str, connection: str) -> bool:
    """Whether a resource of `provider`/`connection` is within the key's provider limits."""
    grant = grant_of(event)
    return grant is None or grant.reaches(provider, connection)


def limited(event: Mapping[str, Any]) -> bool:
    grant = grant_of(event)
    return grant is not None and bool(grant.providers)
