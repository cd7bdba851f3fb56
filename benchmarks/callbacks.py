"""Callback ingestion: warm cost per callback against a bare baseline, then a load run.

    python -m benchmarks.callbacks [--calls 2000] [--backend auto|dynamodb-local|moto]
                                   [--load 10000] [--duplicates 1000] [--clients 16]
                                   [--sustained 10000] [--window 1000] [--quick]

1. In process, warm: the Callbacks function's handler (API Gateway event in, token check, JSON,
   dedupe key, conditional put, receipt out, with its Powertools logger, metrics and resolver)
   against a bare baseline handler that only parses the JSON body and does one put_item to the same
   table with the same boto3 client. Calls are interleaved (baseline, handler, baseline, ...) so
   drift hits both alike; every callback is a new event, so every call writes. Target: the median
   ratio is at most 1.5. The table is DynamoDB Local (real HTTP, as a real table is) where Java
   is present, else moto's in-process mock (slower puts, so a harder ratio).
2. Through the dev server (the whole local stack, stream poller included): `--load` distinct
   callbacks plus `--duplicates` re-deliveries of some of them, from `--clients` concurrent
   clients. Every distinct callback must be stored exactly once and acknowledged once as new; none
   lost. The dev server runs one handler at a time (Powertools keeps the current event in class
   attributes, so invocations cannot overlap in one process), and the events processor takes
   turns with it: the throughput printed is that of one serialised process, not of Lambda.
3. A long `make dev`, compressed: `--sustained` distinct callbacks through the dev server with the
   events pipeline on (stream poller -> events processor -> bus -> tap and webhook queues -> the
   sample bot), as a developer's stack sees them over hours. The throughput of the last `--window`
   callbacks is compared with that of the first `--window`, measured in the same run: whatever
   the stack keeps and never lets go of (an undrained queue, a log, a list) shows as a falling
   ratio. Target: the last window at least 90% of the first.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from benchmarks import _harness
from local.lambda_runtime import DEFAULT_REGION, ensure_every_function_path, lambda_context_for, load_handler
from local.template import functions

TARGET_RATIO = 1.5
SUSTAINED_TARGET = 0.9  # throughput of the last window over that of the first
TABLE = "chatbridge-bench"
TOKEN = "bench-callback-token"
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def biway_report(resource_id: str) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event": "MESSENGER_REPORT",
        "resource_id": resource_id,
        "state": "delivered",
        "occurred_at": "2026-11-27T10:00:05Z",
        "recipient": "+33670000000",
        "data": {},
    }


# -- 1. in process ---------------------------------------------------------------------------------


@contextmanager
def table_backend(backend: str) -> Iterator[str]:
    """Environment pointing at a table and a `chatbridge/callbacks` secret; yields the backend's name."""
    from local.dynamodb_local import DynamoDBLocal, jar_installed, java_available

    base_env = {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "TABLE_NAME": TABLE,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "chatbridge",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
    }
    os.environ.update(base_env)
    use_local = backend == "dynamodb-local" or (backend == "auto" and java_available() and jar_installed())
    from moto import mock_aws

    with mock_aws():  # Secrets Manager always; DynamoDB too unless DynamoDB Local serves it
        if use_local:
            ddb_local = DynamoDBLocal().start()
            os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = ddb_local.endpoint_url
        try:
            import boto3

            from local.template import create_table

            create_table(boto3.client("dynamodb"), TABLE)
            boto3.client("secretsmanager").create_secret(
                Name="chatbridge/callbacks", SecretString=json.dumps({"biway": TOKEN})
            )
            yield "DynamoDB Local (HTTP on 127.0.0.1)" if use_local else "moto mock_aws (in process)"
        finally:
            if use_local:
                ddb_local.stop()
                os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)


def baseline_handler() -> Handler:
    from chatbridge.aws import dynamodb_client

    client = dynamodb_client()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        body = json.loads(event["body"])
        client.put_item(
            TableName=TABLE,
            Item={"pk": {"S": f"BASELINE#{body['event_id']}"}, "sk": {"S": "BASELINE"}, "raw": {"S": event["body"]}},
        )
        return {"statusCode": 200, "body": "{}"}

    return handler


def callback_event(body: dict[str, Any]) -> dict[str, Any]:
    """What API Gateway hands the function for Bi-way's POST (a public route: no authorizer)."""
    from local.dev_server.events import api_event

    return api_event(
        "POST",
        f"/v1/callbacks/biway/{TOKEN}",
        route_key="POST /v1/callbacks/{provider}/{token}",
        headers={"content-type": "application/json"},
        body=json.dumps(body),
        path_parameters={"provider": "biway", "token": TOKEN},
    )


@contextmanager
def stdout_to_devnull() -> Iterator[None]:
    """The handler logs a JSON line per callback to stdout, as Lambda wants; here it goes nowhere, at
    the file descriptor (Powertools' handler keeps its own reference to sys.stdout)."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(devnull)
        os.close(saved)


def measure_in_process(calls: int, backend: str) -> tuple[str, dict[str, list[float]]]:
    ensure_every_function_path()
    function = functions()["CallbacksFunction"]
    with table_backend(backend) as backend_name:
        subjects: dict[str, Handler] = {"baseline": baseline_handler(), "callbacks": load_handler(function)}
        samples: dict[str, list[float]] = {name: [] for name in subjects}
        with stdout_to_devnull():
            for round_ in range(calls + calls // 10):
                for name, handler in subjects.items():
                    event = callback_event(biway_report(f"bench-{round_ % 50}"))
                    context = lambda_context_for(function, DEFAULT_REGION)  # a new one per invocation
                    started = time.perf_counter()
                    response = handler(event, context)
                    elapsed = time.perf_counter() - started
                    if response["statusCode"] != 200:
                        raise SystemExit(f"{name} answered {response['statusCode']}: {response.get('body')}")
                    if round_ >= calls // 10:  # the first tenth warms both up
                        samples[name].append(elapsed)
    return backend_name, samples


def report_in_process(backend_name: str, samples: dict[str, list[float]]) -> bool:
    base, ours = samples["baseline"], samples["callbacks"]
    print(f"1. warm handler cost per callback, in process, table on {backend_name}, {len(ours)} calls each")
    print(f"   {'':<12}{'median':>10}{'p99':>10}")
    for name, values in samples.items():
        print(f"   {name:<12}{statistics.median(values) * 1000:>9.3f}ms{percentile(values, 0.99) * 1000:>8.3f}ms")
    median_ratio = statistics.median(ours) / statistics.median(base)
    p99_ratio = percentile(ours, 0.99) / percentile(base, 0.99)
    overhead = (statistics.median(ours) - statistics.median(base)) * 1000
    verdict = "OK" if median_ratio <= TARGET_RATIO else "OVER TARGET"
    print(f"   ratio       median {median_ratio:.2f}  p99 {p99_ratio:.2f}  (target <= {TARGET_RATIO}: {verdict})")
    print(f"   the handler's own work beyond the put: {overhead:.3f} ms per callback (median)")
    return median_ratio <= TARGET_RATIO


# -- 2. load through the dev server ------------------------------------------------------------------


def load_run(total: int, duplicates: int, clients: int, processing_seconds: float) -> tuple[bool, list[str]]:
    """The run, and the lines to print (the functions' logs and metrics go to stdout meanwhile)."""
    import logging

    import boto3
    import httpx

    from local.stack import LocalStack

    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    logging.getLogger("local").setLevel(logging.WARNING)
    subject = f"bench-load-{uuid.uuid4().hex[:8]}"
    bodies = [json.dumps(biway_report(subject)).encode() for _ in range(total)]
    rng = random.Random(7)
    deliveries = list(range(total)) + [rng.randrange(total) for _ in range(duplicates)]
    rng.shuffle(deliveries)
    with LocalStack(api_port=0, table_name=f"chatbridge-load-{uuid.uuid4().hex[:6]}") as stack:
        from chatbridge.observability import logger

        logger.setLevel("WARNING")  # part 1 imported the handlers with the INFO level of Lambda
        assert stack.events is not None
        # In AWS the two functions never share a process; here they would take turns on one lock.
        stack.events.pause()
        url = stack.callback_url("biway")
        local = threading.local()
        answers: list[tuple[int, int, bool, str]] = []
        lock = threading.Lock()

        def send(index: int) -> None:
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx.Client(timeout=60, headers={"content-type": "application/json"})
            response = client.post(url, content=bodies[index])
            receipt = response.json() if response.status_code == 200 else {}
            with lock:
                answers.append((index, response.status_code, bool(receipt.get("duplicate")), receipt.get("id", "")))

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(send, deliveries))
        elapsed = time.perf_counter() - started

        before = stack.events.delivered()
        stack.events.resume()
        time.sleep(processing_seconds)
        processed = stack.events.delivered() - before

        lines: list[str] = []
        statuses = [a[1] for a in answers]
        new = [a for a in answers if a[1] == 200 and not a[2]]
        stored = count_stored(boto3.client("dynamodb"), stack.table_name, subject)
        missing = count_missing(boto3.client("dynamodb"), stack.table_name, bodies)
        lines.append(
            f"2. load through the dev server: {total} callbacks + {duplicates} re-deliveries, {clients} clients"
        )
        lines.append(f"   {len(answers)} requests in {elapsed:.1f} s: {len(answers) / elapsed:.0f} callbacks/s")
        lines.append(f"   answered 200: {statuses.count(200)}, other: {len(statuses) - statuses.count(200)}")
        lines.append(
            f"   acknowledged as new: {len(new)} (distinct ids {len({a[3] for a in new})}), as duplicates: "
            f"{len(answers) - len(new)}"
        )
        lines.append(f"   stored event items: {stored}; distinct callbacks missing from the table: {missing}")
        lines.append(
            f"   then the events processor alone: {processed} events in {processing_seconds:.0f} s "
            f"({processed / processing_seconds:.0f}/s; per event: get, apply, PutEvents to moto, mark)"
        )
        ok = statuses.count(200) == len(deliveries) and len(new) == total and stored == total and missing == 0
        lines.append(f"   exactly once, none lost: {'OK' if ok else 'FAILED'}")
        return ok, lines


# -- 3. a long-running local stack -------------------------------------------------------------------


def sustained_run(total: int, window: int, clients: int) -> tuple[float, bool, list[str]]:
    """`total` callbacks with the events pipeline on: last/first window's throughput ratio, whether
    every callback was answered 200, and the lines to print."""
    import logging

    import httpx

    from local.stack import LocalStack

    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    logging.getLogger("local").setLevel(logging.WARNING)
    subject = f"bench-sustained-{uuid.uuid4().hex[:8]}"
    warm_up = min(50, window)
    bodies = [json.dumps(biway_report(subject)).encode() for _ in range(warm_up + total)]
    with LocalStack(api_port=0, table_name=f"chatbridge-sustained-{uuid.uuid4().hex[:6]}") as stack:
        from chatbridge.observability import logger

        logger.setLevel("WARNING")
        assert stack.events is not None and stack.webhooks is not None
        url = stack.callback_url("biway")
        local = threading.local()
        finished: list[float] = []  # perf_counter() at each answer, in the order they came
        failures: list[int] = []
        lock = threading.Lock()

        def send(index: int) -> None:
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx.Client(timeout=60, headers={"content-type": "application/json"})
            response = client.post(url, content=bodies[index])
            with lock:
                finished.append(time.perf_counter())
                if response.status_code != 200:
                    failures.append(response.status_code)

        with ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(send, range(warm_up)))  # imports, first clients, first writes: not counted
            stack.events.wait_until_processed(30)
            finished.clear()
            started = time.perf_counter()
            list(pool.map(send, range(warm_up, warm_up + total)))
        first = window / (finished[window - 1] - started)
        last = window / (finished[-1] - finished[-window - 1])
        settled = stack.events.wait_until_processed(60)
        published = stack.events.delivered()
        assert stack.events.tap is not None
        queued, kept, tapped = stack.events.tap.queued(), stack.events.tap.kept(), stack.events.tap.received
        bot_kept = len(stack.webhooks.bot.deliveries)
    ratio = last / first
    lines = [
        f"3. a long-running local stack: {total} callbacks through the dev server, events pipeline on, "
        f"{clients} clients",
        f"   first {window}: {first:.1f} callbacks/s, last {window}: {last:.1f} callbacks/s, overall "
        f"{total / (finished[-1] - started):.1f}/s",
        f"   last/first throughput ratio: {ratio:.2f} (target >= {SUSTAINED_TARGET}: "
        f"{'OK' if ratio >= SUSTAINED_TARGET else 'UNDER TARGET'})",
        f"   events processed {published} (settled: {settled}); tapped {tapped}, of which the tap queue "
        f"still holds {queued} and its reader keeps the last {kept}; the sample bot's log keeps {bot_kept}",
        f"   answered other than 200: {len(failures)}",
    ]
    return ratio, not failures, lines


def count_stored(client: Any, table: str, subject: str) -> int:
    count, start = 0, None
    while True:
        query: dict[str, Any] = {
            "TableName": table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"EVSUBJECT#biway#{subject}"}},
            "Select": "COUNT",
        }
        if start:
            query["ExclusiveStartKey"] = start
        answer = client.query(**query)
        count += int(answer["Count"])
        start = answer.get("LastEvaluatedKey")
        if not start:
            return count


def count_missing(client: Any, table: str, bodies: list[bytes]) -> int:
    keys = [{"pk": {"S": f"EVENT#biway#event_id:{json.loads(b)['event_id']}"}, "sk": {"S": "EVENT"}} for b in bodies]
    found = 0
    for start in range(0, len(keys), 100):
        pending: dict[str, Any] = {table: {"Keys": keys[start : start + 100], "ProjectionExpression": "pk"}}
        while pending:
            answer = client.batch_get_item(RequestItems=pending)
            found += len(answer["Responses"].get(table, []))
            pending = answer.get("UnprocessedKeys") or {}
    return len(keys) - found


def main(argv: list[str] | None = None) -> None:
    parser, quick = _harness.parser(__doc__.splitlines()[0], argv)
    parser.add_argument("--calls", type=int, default=100 if quick else 2000)
    parser.add_argument("--backend", choices=["auto", "dynamodb-local", "moto"], default="auto")
    parser.add_argument("--load", type=int, default=200 if quick else 10_000)
    parser.add_argument("--duplicates", type=int, default=20 if quick else 1000)
    parser.add_argument("--clients", type=int, default=8 if quick else 16)
    parser.add_argument("--processing-seconds", type=float, default=2.0 if quick else 15.0)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--sustained", type=int, default=1000 if quick else 10_000)
    parser.add_argument("--window", type=int, default=200 if quick else 1000)
    parser.add_argument("--sustained-clients", type=int, default=4)
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument("--skip-sustained", action="store_true")
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}")
    ok = True
    if not args.skip_in_process:
        backend_name, samples = measure_in_process(args.calls, args.backend)
        within_target = report_in_process(backend_name, samples)
        ok = within_target or quick  # --quick prints the ratio without enforcing its target
    if not args.skip_load:
        with stdout_to_devnull():
            loaded, lines = load_run(args.load, args.duplicates, args.clients, args.processing_seconds)
        print("\n".join(lines))
        ok = loaded and ok  # exactly once, none lost: a correctness check, in every mode
    if not args.skip_sustained:
        with stdout_to_devnull():
            ratio, answered, lines = sustained_run(args.sustained, args.window, args.sustained_clients)
        print("\n".join(lines))
        ok = answered and (ratio >= SUSTAINED_TARGET or quick) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
