"""Fan-out benchmark: N Watbot tag updates through the provider layer vs. the documents' loop.

    python -m benchmarks.fanout [--calls 500] [--latency 0.02] [--concurrency 16] [--rate 1000] [--quick]

Both runs hit the same Watbot simulator on 127.0.0.1, which adds `--latency` seconds to every answer
(a stand-in for the provider's own processing and distance):

- baseline: what the provider document's PHP examples do, a sequential loop that opens a new
  connection for every call (`curl_init` ... `curl_close`), here `httpx.post` per call;
- layer: `WatbotClient.attach_tag` (pooled keep-alive connections, retries, the client-side
  token bucket) called from a bounded pool of `--concurrency` threads.

Watbot's real limit is 2 requests/second per token, at which 500 calls take 250 s whatever the
client does. To measure the client rather than the limit, the benchmark raises the limit to
`--rate` requests/second on the simulator and in the client alike (RATE_LIMIT_WATBOT), so the
token bucket still paces the calls and the simulator still refuses any excess with 429. Both runs
must end with every call answered 200 and no 429.

The ratio against the loop says little (any concurrency beats it), so the layer is also measured
against its floor: `N x latency / concurrency` (every thread busy all the time, each call taking
what one call alone takes), or `N / rate` when the rate limit binds, whichever is longer. The
latency is that of one call through the layer on a kept-alive connection, measured in the same run
(the median of `--latency-samples` calls made one at a time). Target: at most 1.25 times the floor.
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import httpx

from benchmarks import _harness
from local.lambda_runtime import ensure_every_function_path
from local.template import ROOT

if TYPE_CHECKING:
    from chatbridge.integrations.watbot.client import WatbotClient

TOKEN = "bench-token"
TARGET_RATIO = 10.0
TARGET_TO_FLOOR = 1.25
DEMO_CONTACTS = [1, 2, 3]  # what the simulator seeds at start


def baseline(base_url: str, contacts: list[int], calls: int) -> float:
    # One client (its set-up is not what is measured) that keeps no connection alive: every call
    # connects anew, as curl_init/curl_close per call does.
    started = time.perf_counter()
    with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0)) as client:
        for n in range(calls):
            response = client.post(
                f"{base_url}/api/v1/attachTagToContact",
                params={"api_token": TOKEN, "contact_id": contacts[n % len(contacts)], "name": f"baseline-{n}"},
                headers={"Accept": "application/json"},
            )
            response.raise_for_status()
    return time.perf_counter() - started


def layer_client(base_url: str) -> WatbotClient:
    ensure_every_function_path()
    from pydantic import SecretStr

    from chatbridge.integrations.watbot.client import WatbotClient, WatbotConnection

    return WatbotClient(WatbotConnection(api_token=SecretStr(TOKEN), base_url=base_url))


def one_call_latency(client: WatbotClient, contacts: list[int], samples: int) -> float:
    """Median seconds of one call through the layer, alone, on a kept-alive connection (the first
    call opens it and is not counted). Tags of their own: the fan-out's count stays exact."""
    seconds = []
    for n in range(samples + 1):
        started = time.perf_counter()
        client.attach_tag(str(contacts[n % len(contacts)]), f"alone-{n}")
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds[1:])


def through_the_layer(client: WatbotClient, contacts: list[int], calls: int, concurrency: int) -> float:
    def attach(n: int) -> None:
        client.attach_tag(str(contacts[n % len(contacts)]), f"layer-{n}")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(attach, range(calls)))  # list() re-raises the first failure
    return time.perf_counter() - started


def floor_seconds(calls: int, latency: float, concurrency: int, rate: float) -> tuple[float, str]:
    """The shortest time `calls` calls can take, and what binds: the threads or the rate limit."""
    by_threads = calls * latency / concurrency
    by_rate = calls / rate
    if by_rate > by_threads:
        return by_rate, f"N / rate = {calls} / {rate:g}"
    return by_threads, f"N x latency / concurrency = {calls} x {latency * 1000:.1f} ms / {concurrency}"


class SimulatorProcess:
    """The Watbot simulator in a process of its own, so that it does not share the client's GIL."""

    def __init__(self, rate: float, latency: float) -> None:
        from local.ports import LOOPBACK, free_port

        self.url = f"http://{LOOPBACK}:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        command = [sys.executable, "-m", "local.simulators.watbot", "--port", port, "--token", TOKEN]
        command += ["--rate-limit", f"{rate:g}", "--latency", f"{latency:g}"]
        self._process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def __enter__(self) -> SimulatorProcess:
        from local.ports import wait_for_port

        host, port = self.url.removeprefix("http://").split(":")
        wait_for_port(host, int(port), timeout=15)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)


def tags_attached(base_url: str, contacts: list[int]) -> int:
    total = 0
    for contact in contacts:
        answer = httpx.get(
            f"{base_url}/api/v1/getContactTags",
            params={"api_token": TOKEN, "contact_id": contact},
            headers={"Accept": "application/json"},
        )
        answer.raise_for_status()
        total += len(answer.json()["data"])
        time.sleep(1 / 2)  # stay within any rate limit while counting
    return total


def main(argv: list[str] | None = None) -> int:
    parser, quick = _harness.parser(__doc__.split("\n\n", 1)[0], argv)
    parser.add_argument("--calls", type=int, default=50 if quick else 500)
    parser.add_argument("--latency", type=float, default=0.020, help="seconds the simulator adds to each answer")
    parser.add_argument("--concurrency", type=int, default=16, help="threads (the layer's pool holds 20 connections)")
    parser.add_argument("--rate", type=float, default=1000.0, help="requests/s allowed by simulator and client alike")
    parser.add_argument("--latency-samples", type=int, default=10 if quick else 30, help="calls timed alone")
    args = parser.parse_args(argv)

    os.environ["RATE_LIMIT_WATBOT"] = f"{args.rate:g}"
    # One process and no table here: it paces with its own bucket (the schedule shared by
    # execution environments through the table has its own test against DynamoDB Local).
    os.environ["RATE_LIMIT_SHARED"] = "false"

    with SimulatorProcess(args.rate, args.latency) as simulator:
        contacts = DEMO_CONTACTS
        base_seconds = baseline(simulator.url, contacts, args.calls)
        # The layer's per-call metrics are flushed as EMF lines on stdout every 100 calls: not output here.
        with contextlib.redirect_stdout(io.StringIO()):
            client = layer_client(simulator.url)
            latency = one_call_latency(client, contacts, args.latency_samples)
            layer_seconds = through_the_layer(client, contacts, args.calls, args.concurrency)
        attached = tags_attached(simulator.url, contacts)
    floor, floor_formula = floor_seconds(args.calls, latency, args.concurrency, args.rate)
    to_floor = layer_seconds / floor

    ratio = base_seconds / layer_seconds
    print(f"Fan-out: {args.calls} Watbot attachTagToContact calls, simulator latency {args.latency * 1000:.0f} ms,")
    print(f"         rate limit {args.rate:g} req/s on the simulator and in the client (Watbot's real one: 2 req/s)")
    print(
        f"  baseline  sequential, new connection per call  {base_seconds:7.2f} s  "
        f"{args.calls / base_seconds:7.1f} calls/s"
    )
    print(
        f"  layer     {args.concurrency} threads, pooled, token bucket     {layer_seconds:7.2f} s  "
        f"{args.calls / layer_seconds:7.1f} calls/s"
    )
    print(f"  ratio     {ratio:.1f}x faster (target {TARGET_RATIO:.0f}x)")
    print(f"  one call alone through the layer: {latency * 1000:.1f} ms (median of {args.latency_samples})")
    print(f"  floor     {floor_formula} = {floor:.3f} s (at Watbot's 2 req/s: {args.calls / 2:.0f} s)")
    verdict = "OK" if to_floor <= TARGET_TO_FLOOR else "OVER TARGET"
    print(f"  ratio to floor: {to_floor:.2f} (target <= {TARGET_TO_FLOOR}: {verdict})")
    expected = 2 * args.calls + args.latency_samples + 1
    if attached != expected:
        print(f"  ERROR: {attached} distinct tags attached, {expected} expected")
        return 1
    return 0 if quick or (ratio >= TARGET_RATIO and to_floor <= TARGET_TO_FLOOR) else 2


if __name__ == "__main__":
    sys.exit(main())
