"""The routes that need no API key, declared once.

template.yaml gives these routes `Auth: Authorizer: NONE`; a contract test keeps the two equal. The
entry point lets them through without an authorizer verdict, and the OpenAPI document marks them
`security: []`. Provider webhooks authenticate with the token in their URL instead.
"""

from __future__ import annotations

import re
from functools import cache

# Route keys as API Gateway and the OpenAPI document spell them: "<METHOD> <path template>".
PUBLIC_ROUTES = frozenset(
    {
        "GET /v1/health",
        "GET /v1/openapi.json",
        "GET /v1/docs",
        "POST /v1/callbacks/{provider}/{token}",
    }
)


@cache
def _public_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    patterns = []
    for route_key in sorted(PUBLIC_ROUTES):
        method, template = route_key.split(" ", 1)
        # a {parameter} is one non-empty path segment, as in API Gateway
        regex = "".join(
            "[^/]+" if part.startswith("{") else re.escape(part) for part in re.split(r"(\{[^}]+\})", template)
        )
        patterns.append((method, re.compile(regex)))
    return tuple(patterns)


def is_public(method: str, path: str) -> bool:
    """Whether `method path` (a concrete request path) is one of the routes that need no API key."""
    return any(method == m and pattern.fullmatch(path) for m, pattern in _public_patterns())
