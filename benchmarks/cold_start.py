"""Cold start with the first request: a fresh interpreter imports a handler and serves one event.

What a Lambda user waits for after a cold start is the init (imports) plus the first invocation:
boto3 clients built, the connection secret read, pydantic validators built, the provider called.
For every function of template.yaml, a fresh interpreter imports the handler and calls it with the
function's first `events/<folder>/` file that `_expected.json` answers with success (the answer is
checked: a probe that fails or answers otherwise stops the run). Its backend is the seeded local
stack of `make sam-stack`: moto's server for AWS and the provider simulators on 127.0.0.1, both in
this process, so the probe's interpreter loads nothing Lambda would not (an in-process moto or
httpx.MockTransport would preload boto3 or httpx before the clock starts and flatter the handler).
Interpreters run with `-S` and only the layer's requirements on their path, as /opt/python has
them (the dev environment's extras, such as the rich and click that httpx loads when present, would
weigh on both sides).

The baseline of each function is a fresh interpreter that imports the bare stack (boto3, httpx,
pydantic, the Powertools resolver) and makes as many bare boto3 calls, to the same services, as the
function's first request made (counted once per function in an untimed calibration run). Probes
and baselines alternate, round after round; before each round the table and the simulators are
emptied and seeded again (untimed), so every round serves the same first request. The
interpreter's own start-up is left out of both.

The ratio judged is CPU time (the interpreter's own work, from the first import to the answer):
on a shared machine elapsed time mostly measures the neighbours, and the backend's latency (moto
answering in this process) is not a cold-start cost. Elapsed times are printed beside it.

    python -m benchmarks.cold_start [--runs 11] [--quick] [--tracing]

`--tracing` lets the handlers build Powertools' Tracer as in a deploy (`Tracing: Active`): the
X-Ray SDK is then in the probe, not in the baseline.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from benchmarks import _harness
from local import event_files, seed
from local.events_pipeline import LOCAL_EVENT_BUS
from local.lambda_runtime import LAYER_DIR
from local.simulators.watbot import seed_demo_contacts
from local.template import ROOT, create_table, functions, table_definition

TARGET = 1.2
REQUIREMENTS = LAYER_DIR / "requirements.txt"
RESULT_MARK = "cold-start-result:"

# Runs in the fresh interpreter. The event is read and the context built before the clock starts
# (Lambda hands both over); `count` (calibration only) counts boto3 calls and is never timed.
PROBE = """
import importlib, json, sys, time
spec = json.loads(sys.argv[1])
event = json.loads(open(spec["event"], encoding="utf-8").read())

class Context:
    function_name = spec["function"]
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:" + spec["function"]
    memory_limit_in_mb = 512
    aws_request_id = "cold-start-probe"
    log_group_name = "/aws/lambda/" + spec["function"]
    log_stream_name = "cold-start"
    identity = client_context = None
    def get_remaining_time_in_millis(self):
        return 29_000

calls = []
if spec["count"]:
    import botocore.client
    original = botocore.client.BaseClient._make_api_call
    def counted(self, operation, params):
        calls.append([self.meta.service_model.service_name, operation])
        return original(self, operation, params)
    botocore.client.BaseClient._make_api_call = counted
started, cpu_started = time.perf_counter(), time.process_time()
handler = getattr(importlib.import_module(spec["module"]), spec["attribute"])
imported = time.perf_counter()
answer = handler(event, Context())
served, cpu_served = time.perf_counter(), time.process_time()
print(RESULT_MARK + json.dumps({"import": imported - started, "total": served - started,
                                "cpu": cpu_served - cpu_started, "answer": answer, "calls": calls}))
"""

BASELINE = """
import json, sys, time
spec = json.loads(sys.argv[1])
started, cpu_started = time.perf_counter(), time.process_time()
import boto3, httpx, pydantic
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
clients = {}
for service, operation, params in spec["calls"]:
    if service not in clients:
        clients[service] = boto3.client(service)
    getattr(clients[service], operation)(**params)
served, cpu_served = time.perf_counter(), time.process_time()
print(RESULT_MARK + json.dumps({"total": served - started, "cpu": cpu_served - cpu_started}))
"""

# What Lambda sets in every execution environment (the local stack adds the endpoints).
LAMBDA_LIKE_ENV = {
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "PYDANTIC_DISABLE_PLUGINS": "__all__",  # as template.yaml sets it
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
    # Lambda's trace header, not sampled: the X-Ray SDK builds its segments and sends nothing.
    "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
}


@dataclass(frozen=True)
class Subject:
    """One function and the event file its first request serves."""

    function: str
    module: str
    attribute: str
    paths: tuple[Path, ...]
    invocation: event_files.Invocation


def successful(expected: event_files.Expected) -> bool:
    if isinstance(expected, int):
        return 200 <= expected < 300
    return bool(expected.get("isAuthorized", True)) and not expected.get("batchItemFailures")


def subjects() -> list[Subject]:
    """Every function of template.yaml, in plan order (a folder after the folders it reads)."""
    infos = functions()
    found: dict[str, Subject] = {}
    for invocation in event_files.plan():
        if invocation.function in found or not successful(invocation.expected):
            continue
        info = infos[invocation.function]
        found[info.name] = Subject(info.name, info.module, info.attribute, (info.code_uri, LAYER_DIR), invocation)
    missing = set(infos) - set(found)
    if missing:
        raise SystemExit(f"no event file answered with success for {sorted(missing)}")
    return list(found.values())


def bare_call(service: str, dlq_url: str) -> tuple[str, str, dict[str, Any]]:
    """A cheap call to `service` against the seeded stack, for the baseline."""
    key = {schema["AttributeName"]: {"S": "cold-start-baseline"} for schema in table_definition("")["KeySchema"]}
    calls: dict[str, tuple[str, dict[str, Any]]] = {
        "dynamodb": ("get_item", {"TableName": seed.TABLE_NAME, "Key": key}),
        "secretsmanager": ("get_secret_value", {"SecretId": f"{seed.SECRETS_PREFIX}/callbacks"}),
        "kms": ("describe_key", {"KeyId": seed.CREDENTIALS_KEY_ALIAS}),
        "events": ("describe_event_bus", {"Name": LOCAL_EVENT_BUS}),
        "sqs": ("get_queue_attributes", {"QueueUrl": dlq_url, "AttributeNames": ["ApproximateNumberOfMessages"]}),
        "dynamodbstreams": ("list_streams", {}),
    }
    if service not in calls:
        raise SystemExit(f"the baseline has no bare call for {service}: add one to bare_call()")
    operation, params = calls[service]
    return service, operation, params


def lambda_site() -> Path:
    """A directory with only what the layer's requirements.txt installs (as Lambda's /opt/python has),
    made of links into this interpreter's site-packages. The probes run with `-S` and this
    directory on their path: packages of the dev environment that the layer does not ship (httpx
    loads rich and click for its command line when they are installed) are not counted."""
    site = ROOT / ".aws-sam" / "cold-start-site"
    wanted = [Requirement(line) for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    seen: set[str] = set()
    entries: dict[str, Path] = {}
    while wanted:
        requirement = wanted.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        dist = metadata.distribution(name)
        for file in dist.files or ():
            top = file.parts[0]
            if top not in ("..", "__pycache__") and not top.endswith(".pth"):
                entries[top] = Path(str(dist.locate_file(top)))
        for text in dist.requires or ():
            needed = Requirement(text)
            extras = requirement.extras or {""}
            if needed.marker is None or any(needed.marker.evaluate({"extra": extra}) for extra in extras):
                wanted.append(needed)
    shutil.rmtree(site, ignore_errors=True)  # made again at every run: never links to an older install
    site.mkdir(parents=True)
    for top, target in entries.items():
        (site / top).symlink_to(target)
    return site


def run(code: str, spec: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-S", "-c", f"RESULT_MARK = {RESULT_MARK!r}\n{code}", json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    results = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if completed.returncode != 0 or not results:
        raise SystemExit(f"probe failed ({spec.get('function', 'baseline')}):\n{completed.stderr[-3000:]}")
    loaded: dict[str, Any] = json.loads(results[-1].removeprefix(RESULT_MARK))
    return loaded


class Bench:
    def __init__(self, stack: Any, tracing: bool) -> None:
        self.stack = stack
        self.site = lambda_site()
        base = {**os.environ, **stack.container_environment(), **LAMBDA_LIKE_ENV}
        base.pop("POWERTOOLS_TRACE_DISABLED", None)
        if not tracing:
            base["POWERTOOLS_TRACE_DISABLED"] = "true"
        self.base_env = base
        self.calls: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}

    def env(self, subject: Subject | None) -> dict[str, str]:
        if subject is None:
            return {**self.base_env, "PYTHONPATH": str(self.site)}
        paths = os.pathsep.join(str(p) for p in (*subject.paths, self.site))
        return {
            **self.base_env,
            "PYTHONPATH": paths,
            "AWS_LAMBDA_FUNCTION_NAME": subject.function,
            "LAMBDA_TASK_ROOT": str(subject.paths[0]),
        }

    def probe(self, subject: Subject, *, count: bool = False) -> dict[str, Any]:
        spec = {
            "function": subject.function,
            "module": subject.module,
            "attribute": subject.attribute,
            "event": str(subject.invocation.path),
            "count": count,
        }
        result = run(PROBE, spec, self.env(subject))
        if problem := event_files.mismatch(subject.invocation.expected, result["answer"]):
            raise SystemExit(f"{subject.invocation.name} did not give its expected answer: {problem}")
        return result

    def baseline(self, subject: Subject) -> dict[str, Any]:
        return run(BASELINE, {"calls": self.calls[subject.function]}, self.env(None))

    def reseed(self) -> None:
        """An empty table with the seeded items, so every round serves the same first request."""
        import boto3

        client = boto3.client("dynamodb", endpoint_url=self.stack.dynamodb_endpoint)
        client.delete_table(TableName=seed.TABLE_NAME)
        client.get_waiter("table_not_exists").wait(TableName=seed.TABLE_NAME)
        create_table(client, seed.TABLE_NAME)
        seed.put_seed_api_key()
        for simulator in self.stack.simulators.by_provider().values():
            simulator.reset()
        seed_demo_contacts(self.stack.watbot)

    def calibrate(self, cases: list[Subject]) -> None:
        """Count each first request's boto3 calls (untimed; also compiles every module's bytecode,
        as Lambda ships compiled files too) and check every answer."""
        self.reseed()
        dlq_url = self.stack.container_environment()["EVENTS_DEAD_LETTER_QUEUE_URL"]
        for subject in cases:
            counted = self.probe(subject, count=True)["calls"]
            self.calls[subject.function] = [bare_call(service, dlq_url) for service, _ in counted]
        self.baseline(cases[0])  # the baseline's code is the same for all: compiled once


Samples = dict[str, list[dict[str, Any]]]


def main(argv: list[str] | None = None) -> None:
    parser, quick = _harness.parser(__doc__.splitlines()[0], argv)
    parser.add_argument("--runs", type=int, default=2 if quick else 11)
    parser.add_argument("--tracing", action="store_true", help="build the X-Ray tracer as a deploy does")
    args = parser.parse_args(argv)
    from local.stack import LocalStack  # starts nothing at import; kept here with the stack's setup

    cases = subjects()
    with LocalStack(api_port=0, seeded=True, force_moto=True, handlers_in_process=False) as stack:
        bench = Bench(stack, args.tracing)
        bench.calibrate(cases)
        probes: Samples = {s.function: [] for s in cases}
        baselines: Samples = {s.function: [] for s in cases}
        for _ in range(args.runs):
            bench.reseed()
            for subject in cases:
                baselines[subject.function].append(bench.baseline(subject))
                probes[subject.function].append(bench.probe(subject))
    worst = report(cases, probes, baselines, bench.calls, args)
    if worst > TARGET and not args.quick:
        raise SystemExit(1)


def median_ms(samples: list[dict[str, Any]], figure: str) -> float:
    return statistics.median(float(sample[figure]) for sample in samples) * 1000


def report(
    cases: list[Subject],
    probes: Samples,
    baselines: Samples,
    calls: dict[str, list[tuple[str, str, dict[str, Any]]]],
    args: Any,
) -> float:
    tracing = "on (X-Ray SDK in the probe only)" if args.tracing else "off"
    print(
        f"python {sys.version.split()[0]}, {args.runs} fresh interpreters per subject, medians in ms, "
        f"import + first request, tracing {tracing}"
    )
    print("cpu: CPU time of the interpreter (the ratio judged); wall: elapsed, backend waits included")
    print(
        f"{'function':<26}{'event file':<44}{'calls':>5}{'import':>8}"
        f"{'cpu':>8}{'base cpu':>9}{'wall':>8}{'base wall':>10}{'wall x':>7}{'ratio':>7}"
    )
    worst = 0.0
    for subject in cases:
        name = subject.function
        ratio = median_ms(probes[name], "cpu") / median_ms(baselines[name], "cpu")
        wall_ratio = median_ms(probes[name], "total") / median_ms(baselines[name], "total")
        worst = max(worst, ratio)
        print(
            f"{name:<26}{subject.invocation.name:<44}{len(calls[name]):>5}{median_ms(probes[name], 'import'):>8.1f}"
            f"{median_ms(probes[name], 'cpu'):>8.1f}{median_ms(baselines[name], 'cpu'):>9.1f}"
            f"{median_ms(probes[name], 'total'):>8.1f}{median_ms(baselines[name], 'total'):>10.1f}"
            f"{wall_ratio:>7.2f}{ratio:>7.2f}"
        )
    print(f"target: every ratio <= {TARGET:.2f} (import and first request, CPU time against the baseline's)")
    print(f"worst first-request ratio: {worst:.2f}")
    return worst


if __name__ == "__main__":
    main()
