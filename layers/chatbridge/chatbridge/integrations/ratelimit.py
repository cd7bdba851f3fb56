"""Client-side rate limits: one token bucket per provider credential, shared by the whole process.

A provider that limits calls per credential (Watbot: 2 requests/second per `api_token`, 429 above)
is cheaper to respect than to provoke: every call waits for its turn here before it is sent, so a
burst of calls is spread out instead of being refused and retried. The limit is per process: each
Lambda execution environment has its own bucket, so concurrent environments can still exceed the
provider's limit, and its 429 stays retried with backoff (`ProviderClient.send`).

`RATE_LIMIT_<PROVIDER>` (requests per second, `0` for none) overrides a client's default.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from chatbridge.errors import RateLimitedError

# A caller waits at most this long for its turn; beyond it the request is refused rather than
# left to run into API Gateway's 30 s limit.
MAX_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class RateLimit:
    per_second: float
    # 1 spaces calls evenly: a provider counting calls in a sliding second then never sees more
    # than `per_second` of them, whatever the window's alignment.
    burst: float = 1.0


class TokenBucket:
    """Reservations on a token bucket: each caller takes a slot and sleeps until it comes.

    Tokens may go negative: a thread that must wait reserves its slot at once, so waiting threads
    are served in arrival order instead of racing each other when a token appears.
    """

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = limit.burst
        self._updated = clock()

    def acquire(self, provider: str, max_wait: float = MAX_WAIT_SECONDS) -> float:
        """Wait for a slot; returns the seconds waited. RateLimitedError if the wait would exceed `max_wait`."""
        with self._lock:
            now = self._clock()
            rate, burst = self.limit.per_second, self.limit.burst
            self._tokens = min(burst, self._tokens + (now - self._updated) * rate)
            self._updated = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / rate
            if wait > max_wait:
                raise RateLimitedError(
                    f"More calls to {provider} are queued than its rate limit of {rate:g}/s lets through "
                    f"in {max_wait:g} s; retry in a few seconds.",
                    provider=provider,
                )
            self._tokens -= 1
        if wait > 0:
            self._sleep(wait)
        return wait


class Unlimited:
    limit = None

    def acquire(self, provider: str, max_wait: float = MAX_WAIT_SECONDS) -> float:
        return 0.0


Throttle = TokenBucket | Unlimited
_UNLIMITED = Unlimited()
_buckets: dict[tuple[str, str, RateLimit], TokenBucket] = {}
_buckets_lock = threading.Lock()


def configured_limit(provider: str, default: RateLimit | None) -> RateLimit | None:
    raw = os.environ.get(f"RATE_LIMIT_{provider.upper()}", "").strip()
    if not raw:
        return default
    try:
        per_second = float(raw)
    except ValueError:
        return default
    return RateLimit(per_second) if per_second > 0 else None


def throttle_for(provider: str, credential: str | None, default: RateLimit | None) -> Throttle:
    """The bucket shared by every client of `provider` using `credential` in this process."""
    limit = configured_limit(provider, default)
    if limit is None:
        return _UNLIMITED
    # Keyed by a digest so the credential itself is not kept in one more place.
    fingerprint = hashlib.sha256((credential or "").encode("utf-8")).hexdigest()[:16]
    key = (provider, fingerprint, limit)
    with _buckets_lock:
        bucket = _buckets.get(key)
        if bucket is None:
            bucket = _buckets[key] = TokenBucket(limit)
        return bucket


def reset() -> None:
    with _buckets_lock:
        _buckets.clear()
