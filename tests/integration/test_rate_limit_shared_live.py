"""A provider's per-credential rate limit holds across processes: four processes, one Watbot token.

Each process stands for one Lambda execution environment: its own interpreter, clients and
buckets, the table (DynamoDB Local) in common. The Watbot simulator counts calls per token in a
sliding second and answers 429 above its limit, as Watbot does.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from local.simulators.serving import Refusal
from local.simulators.watbot import WatbotSimulator
from local.stack import LocalStack

PROCESSES = 4
CALLS_EACH = 5
PROVIDER_LIMIT = 5  # requests per second per token at the simulator
CLIENT_LIMIT = (
    "4"  # what the client paces to: the limit less 20 % (the real Watbot client keeps 10 %), for a busy CI machine
)
TOKEN = "shared-rate-token"


class CountingWatbot(WatbotSimulator):
    """The simulator, counting the calls it refused for the rate."""

    def __init__(self) -> None:
        super().__init__({TOKEN}, rate_limit=PROVIDER_LIMIT)
        self.refused = 0

    def _count_call(self, token: str) -> None:
        try:
            super()._count_call(token)
        except Refusal:
            self.refused += 1
            raise


@pytest.fixture
def watbot(stack: LocalStack) -> Iterator[CountingWatbot]:
    with CountingWatbot() as simulator:
        yield simulator


def call_watbot(base_url: str, contact_id: str, environment: dict[str, str]) -> list[str]:
    """One execution environment: CALLS_EACH calls with the shared token; what each call ended as."""
    os.environ.update(environment)
    from pydantic import SecretStr

    from chatbridge.errors import RateLimitedError
    from chatbridge.integrations.watbot.client import WatbotClient, WatbotConnection

    client = WatbotClient(WatbotConnection(api_token=SecretStr(TOKEN), base_url=base_url))
    outcomes = []
    for _ in range(CALLS_EACH):
        try:
            client.get_contact_tags(contact_id)
            outcomes.append("ok")
        except RateLimitedError:
            outcomes.append("429")
    return outcomes


def run_processes(watbot: CountingWatbot, *, shared: bool) -> tuple[list[str], float]:
    contact = str(watbot.add_contact("Анна"))
    environment = {"RATE_LIMIT_WATBOT": CLIENT_LIMIT, "RATE_LIMIT_SHARED": "true" if shared else "false"}
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        results: list[Any] = pool.starmap(call_watbot, [(watbot.url, contact, environment)] * PROCESSES)
    return [outcome for result in results for outcome in result], time.perf_counter() - started


def test_four_environments_together_keep_the_providers_limit(watbot: CountingWatbot) -> None:
    outcomes, _ = run_processes(watbot, shared=True)

    assert outcomes == ["ok"] * PROCESSES * CALLS_EACH
    assert watbot.refused == 0  # never more than PROVIDER_LIMIT calls in any sliding second


def test_environments_pacing_alone_provoke_the_providers_429(watbot: CountingWatbot) -> None:
    # the same load where each process keeps only its own bucket: the provider refuses calls
    run_processes(watbot, shared=False)

    assert watbot.refused > 0
