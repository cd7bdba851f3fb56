"""Webhook deliveries on the local stack: latency (event stored -> bot received) and throughput.

    python -m benchmarks.deliveries [--events 200] [--deliveries 500] [--quick]

Both runs use a fresh local stack (DynamoDB Local where Java runs, moto for EventBridge, SQS, KMS)
and one bot on 127.0.0.1 that verifies every signature with the `standardwebhooks` package.

- latency: `--events` Bi-way callbacks, one every `--gap` seconds, each through the whole path
  (callback route -> table -> stream poller -> events processor -> EventBridge -> rule -> SQS ->
  delivery function -> bot). Measured from the event's `received_at` (stamped just before it is
  stored) to the bot's receipt, same clock. Baseline: a bare signed POST to the same bot.
- throughput: `--deliveries` events sent to the fan-out queue in batches of 10 as the rule sends
  them, through SQS -> delivery function (fan-out, sealed secret, signing, attempt log in DynamoDB)
  -> bot, from the first send to the last receipt. Baselines: a bare loop POSTing the same signed
  bodies to the same bot over one keep-alive connection, and bare PutItems to the same table (a
  delivery writes 4 items: the table, not the HTTP, bounds the local figure).

Locally every function shares one process and takes turns (the dev server's invocation lock), and
the stream is polled four times a second as Lambda does: the figures are the local stack's, to
compare runs, not AWS's.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import statistics
import sys
import time
import uuid
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def _quiet() -> None:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.ERROR)
    for name in ("local", "botocore", "httpx"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _local_client(service: str, endpoint_url: str) -> Any:
    import boto3

    factory: Any = boto3.client
    return factory(
        service,
        endpoint_url=endpoint_url,
        region_name="eu-west-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _subscribe(stack: Any, api: httpx.Client, bot: Any) -> str:
    """The benchmark bot's secret."""
    # only the benchmark's bot: the sample bot's subscription is switched off
    assert stack.webhooks is not None
    api.patch(f"/v1/webhooks/{stack.webhooks.webhook_id}", json={"enabled": False}).raise_for_status()
    created = api.post("/v1/webhooks", json={"url": bot.url, "event_types": ["biway.message.*"]})
    created.raise_for_status()
    secret = str(created.json()["secret"])
    bot.add_secret(secret)
    return secret


def _callback(n: int, run: str) -> dict[str, Any]:
    return {
        "event_id": f"bench-{run}-{n}",
        "event": "MESSENGER_REPORT",
        "resource_id": f"bench-{run}-{n}",
        "state": "delivered",
        "occurred_at": datetime.now(UTC).isoformat(),
    }


def measure_latency(stack: Any, bot: Any, events: int, gap: float) -> list[float]:
    run = uuid.uuid4().hex[:6]
    url = stack.callback_url("biway")
    with httpx.Client(timeout=30) as client:
        for n in range(events):
            client.post(url, json=_callback(n, run)).raise_for_status()
            time.sleep(gap)
    bot.wait_for(lambda ds: sum(f"bench-{run}-" in str(d.data.get("subject_ref")) for d in ds) >= events, 120)
    latencies = []
    for delivery in bot.deliveries:
        if f"bench-{run}-" in str(delivery.data.get("subject_ref")) and delivery.answered == 200:
            stored = datetime.fromisoformat(str(delivery.data["received_at"]).replace("Z", "+00:00")).timestamp()
            latencies.append((delivery.received_at - stored) * 1000)
    return latencies


def _rule_message(n: int, run: str) -> dict[str, Any]:
    """An EventBridge event as the rule's SQS target receives it."""
    now = datetime.now(UTC).isoformat()
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "biway.message.read",
        "source": "chatbridge",
        "account": "123456789012",
        "time": now,
        "region": "eu-west-1",
        "resources": [],
        "detail": {
            "id": f"bus-{run}-{n}",
            "provider": "biway",
            "type": "MESSENGER_REPORT",
            "state": "read",
            "subject_ref": f"through-{run}-{n}",
            "occurred_at": now,
            "received_at": now,
            "outcome": "unmatched",
            "registration_ids": [],
            "facts": {},
        },
    }


def measure_throughput(stack: Any, bot: Any, deliveries: int) -> float:
    """Events sent to WebhookEventsQueue as the EventBridge rule sends them, until the bot has them all.

    The queue is fed directly: moto's EventBridge takes ~70 ms per event here, which is moto's cost,
    not the delivery path's (the latency run goes through it)."""
    from local.deliveries import queue_url

    sqs = _local_client("sqs", stack.secrets_endpoint)
    url = queue_url(stack.secrets_endpoint, "WebhookEventsQueue")
    run = uuid.uuid4().hex[:6]
    before = len(bot.deliveries)
    started = time.perf_counter()
    for start in range(0, deliveries, 10):
        entries = [
            {"Id": str(n), "MessageBody": json.dumps(_rule_message(n, run))}
            for n in range(start, min(start + 10, deliveries))
        ]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    bot.wait_for(lambda ds: len(ds) - before >= deliveries, 600)
    return deliveries / (time.perf_counter() - started)


def baseline(bot: Any, secret: str, count: int) -> tuple[list[float], float]:
    """Round trips of signed POSTs to the bot, and a loop's rate over one keep-alive connection."""
    sys.path.insert(0, str(ROOT / "layers" / "chatbridge"))
    from chatbridge.webhooks.signing import headers

    bodies = [
        json.dumps({"type": "bench.bare.post", "timestamp": "", "data": {"id": f"b{n}"}}).encode() for n in range(count)
    ]
    signed = [headers(f"msg_bare{n}", int(time.time()), body, [secret]) for n, body in enumerate(bodies)]
    round_trips = []
    started = time.perf_counter()
    with httpx.Client(timeout=30) as client:
        for body, head in zip(bodies, signed, strict=True):
            sent = time.perf_counter()
            client.post(bot.url, content=body, headers={**head, "Content-Type": "application/json"}).raise_for_status()
            round_trips.append((time.perf_counter() - sent) * 1000)
    return round_trips, count / (time.perf_counter() - started)


WRITES_PER_DELIVERY = 4  # the event as sent, the delivery, then the attempt and the delivery again (one transaction)


def table_baseline(stack: Any, count: int, threads: int = 10) -> float:
    """Bare PutItems to the same table from as many threads as the function runs records: writes/s."""
    from concurrent.futures import ThreadPoolExecutor

    dynamodb = _local_client("dynamodb", stack.dynamodb_endpoint)
    run = uuid.uuid4().hex[:6]

    def put(n: int) -> None:
        item = {"pk": {"S": f"BENCH#{run}#{n}"}, "sk": {"S": "BENCH"}, "body": {"S": "x" * 400}}
        dynamodb.put_item(TableName=stack.table_name, Item=item)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(put, range(count)))
    return count / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--events", type=int, default=200, help="events for the latency run")
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between two callbacks of the latency run")
    parser.add_argument("--deliveries", type=int, default=500, help="events for the throughput run")
    parser.add_argument("--quick", action="store_true", help="30 events and 100 deliveries")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.deliveries = 30, 100
    _quiet()
    from local.bot_receiver import BotReceiver
    from local.stack import LocalStack

    # the functions' metrics are flushed as EMF lines on stdout: not output here
    with (
        contextlib.redirect_stdout(io.StringIO()),
        LocalStack(api_port=0, table_name=f"chatbridge-bench-{uuid.uuid4().hex[:6]}") as stack,
    ):
        api = httpx.Client(base_url=stack.api_url, headers={"x-api-key": stack.api_key}, timeout=30)
        bot = BotReceiver().start()
        try:
            secret = _subscribe(stack, api, bot)
            latencies = measure_latency(stack, bot, args.events, args.gap)
            throughput = measure_throughput(stack, bot, args.deliveries)
            bare_round_trips, bare_rate = baseline(bot, secret, args.deliveries)
            writes = table_baseline(stack, WRITES_PER_DELIVERY * args.deliveries)
            refused = [d for d in bot.deliveries if not d.verified]
        finally:
            bot.stop()
        backend = stack.dynamodb_backend

    bare_median = statistics.median(bare_round_trips)
    median, p95 = statistics.median(latencies), percentile(latencies, 0.95)
    print(f"Webhook deliveries on the local stack ({backend}; one bot verifying with standardwebhooks)")
    print(f"  latency, event stored -> bot received, {len(latencies)} events one per {args.gap * 1000:.0f} ms:")
    print(f"    median {median:7.1f} ms   p95 {p95:7.1f} ms   max {max(latencies):7.1f} ms")
    print(
        f"    baseline: a bare signed POST to the bot, median {bare_median:.2f} ms   ratio {median / bare_median:.0f}x"
    )
    print(f"  throughput, fan-out queue -> delivery function -> bot, {args.deliveries} deliveries:")
    print(f"    {throughput:7.1f} deliveries/s")
    ratio = throughput / bare_rate
    print(f"    baseline: a bare POST loop to the same bot, {bare_rate:7.1f} posts/s   ratio {ratio:.2f}x")
    floor = writes / WRITES_PER_DELIVERY
    print(
        f"    baseline: bare PutItems to the same table from 10 threads, {writes:7.1f} writes/s: at "
        f"{WRITES_PER_DELIVERY} writes a delivery, {floor:.1f} deliveries/s   ratio {throughput / floor:.2f}x"
    )
    if refused:
        print(f"  ERROR: {len(refused)} deliveries failed verification")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
