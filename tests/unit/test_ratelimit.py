"""The client-side rate limit: a token bucket per provider credential, used by ProviderClient.send."""

from __future__ import annotations

import threading

import httpx
import pytest
from pydantic import SecretStr

from chatbridge.errors import RateLimitedError
from chatbridge.integrations import ratelimit
from chatbridge.integrations.ratelimit import (
    RateLimit,
    SharedSchedule,
    TokenBucket,
    configured_limit,
    throttle_for,
)
from chatbridge.integrations.watbot.client import WatbotClient, WatbotConnection
from local.simulators.watbot import WatbotSimulator
from tests.simulated import SimulatorFake


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def _fresh_buckets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RATE_LIMIT_WATBOT", raising=False)
    # this process's own bucket; the schedule shared through the table has its tests below
    monkeypatch.setenv("RATE_LIMIT_SHARED", "false")
    ratelimit.reset()


def test_calls_are_spaced_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(per_second=2), clock=clock, sleep=clock.sleep)

    waits = [bucket.acquire("watbot") for _ in range(4)]

    assert waits == [0.0, 0.5, 0.5, 0.5]
    assert clock.now == pytest.approx(101.5)


def test_idle_time_refills_up_to_the_burst_only() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(per_second=2, burst=2), clock=clock, sleep=clock.sleep)
    clock.now += 60  # a long pause does not bank 120 calls

    waits = [bucket.acquire("watbot") for _ in range(3)]

    assert waits == [0.0, 0.0, 0.5]


def test_a_wait_longer_than_allowed_is_refused_with_a_429_problem() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(per_second=1), clock=clock, sleep=lambda _: None)  # time stands still
    for _ in range(3):
        bucket.acquire("watbot", max_wait=2)

    with pytest.raises(RateLimitedError) as refused:
        bucket.acquire("watbot", max_wait=2)

    assert refused.value.status == 429
    assert refused.value.provider == "watbot"


def test_threads_sharing_a_bucket_never_exceed_the_rate() -> None:
    bucket = TokenBucket(RateLimit(per_second=50))
    started: list[float] = []
    lock = threading.Lock()

    def call() -> None:
        bucket.acquire("watbot")
        with lock:
            started.append(__import__("time").monotonic())

    threads = [threading.Thread(target=call) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    started.sort()
    assert started[-1] - started[0] >= 19 / 50 * 0.95  # 20 calls at 50/s take at least 0.38 s


def test_buckets_are_per_credential_and_the_environment_overrides_the_default(monkeypatch) -> None:
    default = RateLimit(per_second=2)
    one, same, other = (throttle_for("watbot", t, default) for t in ("token-a", "token-a", "token-b"))
    assert one is same
    assert one is not other

    monkeypatch.setenv("RATE_LIMIT_WATBOT", "40")
    assert configured_limit("watbot", default) == RateLimit(per_second=40)
    monkeypatch.setenv("RATE_LIMIT_WATBOT", "0")
    assert configured_limit("watbot", default) is None
    assert throttle_for("watbot", "token-a", default).acquire("watbot") == 0.0
    monkeypatch.setenv("RATE_LIMIT_WATBOT", "fast please")
    assert configured_limit("watbot", default) == default


def test_the_bucket_key_does_not_hold_the_credential() -> None:
    throttle_for("watbot", "very-secret-token", RateLimit(per_second=2))

    assert all("very-secret-token" not in str(key) for key in ratelimit._buckets)


def watbot_client(simulator: WatbotSimulator) -> WatbotClient:
    transport = httpx.MockTransport(SimulatorFake(simulator).handle)
    http = httpx.Client(base_url="https://watbot.test", transport=transport)
    return WatbotClient(WatbotConnection(api_token=SecretStr("tok"), base_url="https://watbot.test"), http=http)


def test_watbot_client_waits_instead_of_provoking_a_429(monkeypatch) -> None:
    # Given Watbot allows 2 calls per second per token, and the client knows it (both on one clock)
    clock = FakeClock()
    simulator = WatbotSimulator({"tok"}, rate_limit=2, clock=clock)
    contact = str(simulator.add_contact("a"))
    client = watbot_client(simulator)
    bucket = throttle_for("watbot", "tok", WatbotClient.rate_limit)
    assert isinstance(bucket, TokenBucket)
    monkeypatch.setattr(bucket, "_clock", clock)
    monkeypatch.setattr(bucket, "_sleep", clock.sleep)
    monkeypatch.setattr(bucket, "_updated", clock.now)

    # When five calls are made back to back
    for _ in range(5):
        client.get_contact_tags(contact)

    # Then none was refused (a 429 would show as a retried, sixth request): they were spread out
    assert [r.operation for r in simulator.requests] == ["getContactTags"] * 5
    assert clock.slept == pytest.approx([1 / 1.8] * 4)  # 2/s less a 10 % margin for network jitter


def test_without_the_client_limit_watbot_answers_429(monkeypatch) -> None:
    monkeypatch.setenv("RATE_LIMIT_WATBOT", "0")
    clock = FakeClock()
    simulator = WatbotSimulator({"tok"}, rate_limit=2, clock=clock)
    contact = str(simulator.add_contact("a"))
    client = watbot_client(simulator)
    monkeypatch.setattr(WatbotClient, "retry_policy", ratelimit_free_retries())

    client.get_contact_tags(contact)
    client.get_contact_tags(contact)
    with pytest.raises(RateLimitedError):
        client.get_contact_tags(contact)


def ratelimit_free_retries():  # type: ignore[no-untyped-def]
    from chatbridge.integrations.http import RetryPolicy

    return RetryPolicy(attempts=1)


# -- the schedule shared by every execution environment --------------------------------------------


def shared_schedule(clock: FakeClock, limit: RateLimit, fingerprint: str = "fp-1") -> SharedSchedule:
    """What one execution environment builds: its own objects, the table's schedule in common."""
    fallback = TokenBucket(limit, clock=clock, sleep=clock.sleep)
    return SharedSchedule(limit, fingerprint, fallback=fallback, clock=clock, sleep=clock.sleep)


def test_environments_sharing_a_credential_are_spaced_together(aws) -> None:
    # Given two execution environments (two schedules) calling with the same credential at 2/s
    clock = FakeClock()
    limit = RateLimit(per_second=2)
    first, second = shared_schedule(clock, limit), shared_schedule(clock, limit)

    # When they call in turns
    waits = [env.acquire("watbot") for env in (first, second, first, second)]

    # Then together they keep 2/s, as one bucket would (two buckets would let both go at once)
    assert waits == [0.0, 0.5, 0.5, 0.5]
    assert clock.now == pytest.approx(101.5)


def test_the_shared_schedule_allows_the_burst_then_spaces(aws) -> None:
    clock = FakeClock()
    limit = RateLimit(per_second=2, burst=2)
    first, second = shared_schedule(clock, limit), shared_schedule(clock, limit)

    waits = [env.acquire("watbot") for env in (first, second, first)]

    assert waits == [0.0, 0.0, 0.5]


def test_other_credentials_have_their_own_schedule(aws) -> None:
    clock = FakeClock()
    limit = RateLimit(per_second=1)

    waits = [shared_schedule(clock, limit, fingerprint).acquire("watbot") for fingerprint in ("a", "b", "c")]

    assert waits == [0.0, 0.0, 0.0]


def test_a_queue_longer_than_the_wait_allowed_is_a_429(aws) -> None:
    clock = FakeClock()
    frozen = SharedSchedule(
        RateLimit(per_second=1), "fp", fallback=TokenBucket(RateLimit(1)), clock=clock, sleep=lambda _: None
    )
    for _ in range(3):
        frozen.acquire("watbot", max_wait=2)

    with pytest.raises(RateLimitedError) as refused:
        frozen.acquire("watbot", max_wait=2)

    assert refused.value.status == 429


def test_without_the_table_a_process_paces_alone() -> None:
    # no mocked account and sockets blocked: the table cannot be reached
    clock = FakeClock()
    schedule = shared_schedule(clock, RateLimit(per_second=2))

    waits = [schedule.acquire("watbot") for _ in range(3)]

    assert waits == [0.0, 0.5, 0.5]
    assert schedule.tried_table == 1  # after a failure the table is left alone for a while


def test_shared_is_the_default(monkeypatch) -> None:
    monkeypatch.delenv("RATE_LIMIT_SHARED")

    assert isinstance(throttle_for("watbot", "token-a", RateLimit(per_second=2)), SharedSchedule)
