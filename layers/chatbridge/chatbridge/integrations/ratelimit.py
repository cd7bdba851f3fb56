"""Client-side rate limits per provider credential: respected by every execution environment together.

A provider that limits calls per credential (Watbot: 2 requests/second per `api_token`, 429 above)
is cheaper to respect than to provoke: every call waits for its turn here before it is sent, so a
burst of calls is spread out instead of being refused and retried. The turn comes from a schedule
shared through the table (`SharedSchedule`, on `chatbridge.store.rates`), so N concurrent Lambdas
together keep the limit; where the table cannot be reached the call falls back to this process's
own bucket (`TokenBucket`) rather than fail, and a provider's 429 stays retried with backoff
(`ProviderClient.send`).

`RATE_LIMIT_<PROVIDER>` (requests per second, `0` for none) overrides a client's default;
`RATE_LIMIT_SHARED=false` keeps each process to its own bucket (one process, tests).
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
# A call that wakes up later than this fraction of an interval after its slot takes a new one.
LATE_FRACTION = 0.5
# After the shared schedule failed, calls pace with this process's bucket for this long.
TABLE_BACKOFF_SECONDS = 30.0


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


class SharedSchedule:
    """The credential's schedule in the table: each call reserves the next free slot and sleeps until it."""

    def __init__(
        self,
        limit: RateLimit,
        fingerprint: str,
        *,
        fallback: TokenBucket,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = limit
        self._fingerprint = fingerprint
        self._fallback = fallback
        self._clock = clock
        self._sleep = sleep
        self._table_resumes_at = 0.0
        self.tried_table = 0

    def acquire(self, provider: str, max_wait: float = MAX_WAIT_SECONDS) -> float:
        from chatbridge.store.base import get_rate_schedule

        if self._clock() < self._table_resumes_at:
            return self._fallback.acquire(provider, max_wait)
        self.tried_table += 1
        now_ms = int(self._clock() * 1000)
        interval_ms = max(1, round(1000 / self.limit.per_second))
        try:
            slot = get_rate_schedule().reserve(
                provider,
                self._fingerprint,
                now_ms=now_ms,
                interval_ms=interval_ms,
                tolerance_ms=round((self.limit.burst - 1) * interval_ms),
                latest_ms=now_ms + int(max_wait * 1000),
            )
        except Exception as exc:  # a limiter outage must not fail the call
            from chatbridge.observability import logger

            logger.warning(
                "shared rate schedule unavailable; this process paces alone", extra={"error": type(exc).__name__}
            )
            self._table_resumes_at = self._clock() + TABLE_BACKOFF_SECONDS
            return self._fallback.acquire(provider, max_wait)
        if slot is None:
            raise RateLimitedError(
                f"More calls to {provider} are queued than its rate limit of {self.limit.per_second:g}/s lets "
                f"through in {max_wait:g} s; retry in a few seconds.",
                provider=provider,
            )
        wait = max(0.0, (slot - now_ms) / 1000)
        if wait > 0:
            self._sleep(wait)
        late = self._clock() - slot / 1000
        if late > LATE_FRACTION / self.limit.per_second and max_wait > wait:
            # woke up too late: sent now, it would follow the next slot's call too closely
            return wait + self.acquire(provider, max_wait - wait)
        return wait


class Unlimited:
    limit = None

    def acquire(self, provider: str, max_wait: float = MAX_WAIT_SECONDS) -> float:
        return 0.0


Throttle = TokenBucket | SharedSchedule | Unlimited
_UNLIMITED = Unlimited()
_buckets: dict[tuple[str, str, RateLimit], TokenBucket] = {}
_schedules: dict[tuple[str, str, RateLimit], SharedSchedule] = {}
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


def shared() -> bool:
    return os.environ.get("RATE_LIMIT_SHARED", "true").strip().lower() not in {"0", "false", "no"}


def throttle_for(provider: str, credential: str | None, default: RateLimit | None) -> Throttle:
    """The pacing of every client of `provider` using `credential`: across environments where shared."""
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
        if not shared():
            return bucket
        schedule = _schedules.get(key)
        if schedule is None:
            schedule = _schedules[key] = SharedSchedule(limit, fingerprint, fallback=bucket)
        return schedule


def reset() -> None:
    with _buckets_lock:
        _buckets.clear()
        _schedules.clear()
