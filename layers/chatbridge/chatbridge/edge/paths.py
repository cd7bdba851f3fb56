"""The routes that need no API key, declared once, and the answer for a route that does not exist.

template.yaml gives these routes `Auth: Authorizer: NONE`; a contract test keeps the two equal. The
entry point lets them through without an authorizer verdict, and the OpenAPI document marks them
`security: []`. Provider webhooks authenticate with the token in their URL instead.

`$default` is API Gateway's catch-all: it receives every request no other route matches (any method,
any path), so an unknown route is answered as a problem like every other error instead of API
Gateway's own `{"message":"Not Found"}`. It is public: it answers 404 and nothing else, whoever asks.
"""

from __future__ import annotations

import re
from functools import cache

from chatbridge.access import ROUTE_SCOPES
from chatbridge.errors import NotFoundError

# API Gateway's route key of the catch-all route (it has no method and no path template).
CATCH_ALL_ROUTE = "$default"
DOCUMENT_PATH = "/v1/openapi.json"

# Route keys as API Gateway and the OpenAPI document spell them: "<METHOD> <path template>".
PUBLIC_ROUTES = frozenset(
    {
        "GET /v1/health",
        f"GET {DOCUMENT_PATH}",
        "GET /v1/docs",
        "POST /v1/callbacks/{provider}/{token}",
        CATCH_ALL_ROUTE,
    }
)


def _compiled(route_keys: frozenset[str]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    patterns = []
    for route_key in sorted(route_keys):
        if route_key == CATCH_ALL_ROUTE:
            continue  # matches what nothing else matches: never a concrete route
        method, template = route_key.split(" ", 1)
        # a {parameter} is one non-empty path segment, as in API Gateway
        regex = "".join(
            "[^/]+" if part.startswith("{") else re.escape(part) for part in re.split(r"(\{[^}]+\})", template)
        )
        patterns.append((method, re.compile(regex)))
    return tuple(patterns)


@cache
def _public_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return _compiled(PUBLIC_ROUTES)


@cache
def _every_pattern() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return _compiled(PUBLIC_ROUTES | frozenset(ROUTE_SCOPES))


def is_public(method: str, path: str) -> bool:
    """Whether `method path` (a concrete request path) is one of the routes that need no API key."""
    return any(method == m and pattern.fullmatch(path) for m, pattern in _public_patterns())


def methods_at(path: str) -> tuple[str, ...]:
    """The methods the API answers at `path` (a concrete request path), in alphabetical order."""
    return tuple(sorted({m for m, pattern in _every_pattern() if pattern.fullmatch(path)}))


def route_not_found(method: str, path: str) -> NotFoundError:
    """The 404 for a method and path no route serves. The path is not echoed: a callback path holds a token."""
    allowed = methods_at(path)
    if allowed:
        detail = f"This path answers {' and '.join(allowed)}, not {method}."
    else:
        detail = f"No route serves {method} on this path."
    return NotFoundError(f"{detail} Every route is listed in {DOCUMENT_PATH}.", title="Route not found")
