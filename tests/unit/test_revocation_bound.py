"""A revoked key is refused within 60 s: through the dev server's API Gateway emulation, which
caches the authorizer's answers for template.yaml's ReauthorizeEvery, on a clock the test moves."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from chatbridge.logic.api_keys import IN_FUNCTION_CACHE_SECONDS, REVOCATION_BOUND_SECONDS, issue_api_key, revoke_api_key
from local.dev_server import Gateway, HttpRequest
from local.template import authorizer_ttl_seconds


class Clock:
    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    moved = Clock()
    monkeypatch.setattr(time, "monotonic", moved)
    yield moved


def get(gateway: Gateway, key: str) -> int:
    request = HttpRequest(method="GET", target="/v1/registrations/unknown-id", headers=[("X-Api-Key", key)], body=b"")
    return gateway.handle(request).status


def test_the_bound_is_the_authorizer_cache_and_nothing_else() -> None:
    assert 0 < authorizer_ttl_seconds() + IN_FUNCTION_CACHE_SECONDS <= REVOCATION_BOUND_SECONDS == 60


def test_a_revoked_key_is_refused_once_the_authorizers_cache_expires(providers, clock: Clock) -> None:
    gateway = Gateway()  # the template's ReauthorizeEvery
    gateway.load()
    issued = issue_api_key("bot", scopes=["registrations:read"])
    assert get(gateway, issued.key) == 404  # authorized: the function answers (no such registration)

    revoke_api_key(issued.id)
    clock.now += authorizer_ttl_seconds() - 1
    still_cached = get(gateway, issued.key)
    clock.now += 1.001
    refused = get(gateway, issued.key)

    assert still_cached == 404  # API Gateway replays its cached answer until the TTL runs out
    assert refused == 403  # then the authorizer denies it: API Gateway's own 403
    assert authorizer_ttl_seconds() <= 60


def test_without_the_gateways_cache_a_revocation_bites_at_once(providers) -> None:
    gateway = Gateway(authorizer_ttl=0)
    gateway.load()
    issued = issue_api_key("bot", scopes=["registrations:read"])
    assert get(gateway, issued.key) == 404

    revoke_api_key(issued.id)

    assert get(gateway, issued.key) == 403
