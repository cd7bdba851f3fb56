"""`make sam-local`: what a deploy ships, run by the real SAM CLI against a seeded local stack.

1. a Docker engine (dockerd started in the background when none answers) and the Lambda base
   image (local/sam/base_image.py: cached, pulled, or built with debootstrap where no registry is
   reachable);
2. `sam build`: the built layer and functions in .aws-sam/build;
3. the seeded local stack (local/seed.py) with moto and the provider simulators bound to the docker
   bridge's gateway, and env.json pointing the functions at them;
4. `sam local invoke` for every file of events/, checked against its folder's `_expected.json`
   (local/event_files.py; independent folders run side by side, `--jobs`);
5. `sam local start-api` and a short path through the real Lambda authorizer: health, a
   registration with the seeded key (201), with an unknown key (403 from the gateway: the authorizer
   denies it) and with none (401), a Bi-way message, its
   read report posted to the webhook route, the table's stream handed to EventsProcessorFunction
   (`sam local invoke`, as Lambda's event source mapping would: local/stream_poller.py), and the
   message read back with the status the report set.

One line per invocation or check, then `N passed, N failed` alone on the last line; the exit code is non-zero
on any mismatch. Everything started here is stopped on exit by process id: start-api, the Lambda
containers SAM left behind (those mounting this worktree's build), the stack, and dockerd when it
was started here. No iptables rule or sysctl is changed (the stack binds to the bridge address).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import boto3
import httpx

from local import event_files, seed
from local.ports import free_port, wait_for_port
from local.sam import base_image, docker_host
from local.sam.environment import sam_cli_environment, write_env_json
from local.stack import LocalStack
from local.stream_poller import StreamPoller, stream_mappings
from local.template import ROOT

log = logging.getLogger("sam-local")

SAM = ROOT / ".venv-sam" / "bin" / "sam"
BUILD_DIR = ROOT / ".aws-sam" / "build"
BUILT_TEMPLATE = BUILD_DIR / "template.yaml"
WORK_DIR = ROOT / ".aws-sam" / "sam-local"
INVOKE_TIMEOUT = 180.0
API_START_TIMEOUT = 180.0
E2E_USER = "tg-sam-local"


# -- the report ------------------------------------------------------------------------------------


@dataclass
class Report:
    passed: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, name: str, problem: str, outcome: str, seconds: float, log_path: Path | None = None) -> bool:
        with self._lock:
            if problem:
                self.failed += 1
                self.failures.append(name)
                print(f"FAIL {name}: {problem} ({seconds:.1f} s)", flush=True)
                if log_path is not None:
                    print(f"     log: {log_path.relative_to(ROOT)}", flush=True)
                    for line in _tail(log_path, 12):
                        print(f"     | {line}", flush=True)
            else:
                self.passed += 1
                print(f"PASS {name}: {outcome} ({seconds:.1f} s)", flush=True)
        return not problem

    @property
    def exit_code(self) -> int:
        """0 only when something was checked and nothing failed."""
        return 0 if self.failed == 0 and self.passed > 0 else 1

    def summary(self) -> str:
        """The closing line, alone and bare as CI reads it."""
        return f"{self.passed} passed, {self.failed} failed"


def _tail(path: Path, lines: int) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    except OSError:
        return []


def step(title: str) -> Callable[[str], None]:
    """Print `== title`, and return a function printing how it ended with the time it took."""
    print(f"== {title}", flush=True)
    started = time.monotonic()
    return lambda outcome: print(f"   {outcome} ({time.monotonic() - started:.1f} s)", flush=True)


# -- the SAM CLI -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvokeResult:
    answer: Any
    returncode: int
    seconds: float
    log_path: Path


def parse_answer(stdout: str) -> Any:
    """The function's answer: `sam local invoke` prints it as JSON on stdout (logs go to stderr)."""
    text = stdout.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return None


@dataclass
class SamCli:
    executable: Path
    env: dict[str, str]
    env_file: Path
    logs: Path

    def command(self, *args: str) -> list[str]:
        return [str(self.executable), *args]

    def invoke(self, function: str, event_path: Path, log_name: str) -> InvokeResult:
        log_path = self.logs / f"{log_name}.log"
        command = self.command(
            "local",
            "invoke",
            function,
            "--template",
            str(BUILT_TEMPLATE),
            "--event",
            str(event_path),
            "--env-vars",
            str(self.env_file),
            "--skip-pull-image",
        )
        started = time.monotonic()
        try:
            done = subprocess.run(
                command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=INVOKE_TIMEOUT, check=False
            )
            stdout, stderr, code = done.stdout, done.stderr, done.returncode
        except subprocess.TimeoutExpired as exc:
            stdout, stderr, code = _text(exc.stdout), _text(exc.stderr) + f"\n(timed out after {INVOKE_TIMEOUT} s)", -1
        seconds = time.monotonic() - started
        log_path.write_text(f"$ {' '.join(command)}\n--- stdout\n{stdout}\n--- stderr\n{stderr}", encoding="utf-8")
        return InvokeResult(parse_answer(stdout), code, seconds, log_path)


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


# -- phases ----------------------------------------------------------------------------------------


def run_event_files(sam: SamCli, report: Report, jobs: int) -> None:
    """Every event file under `sam local invoke`, lane by lane; lanes side by side."""

    def run_lane(lane: list[event_files.Manifest]) -> None:
        for manifest in lane:
            for invocation in manifest.invocations:
                result = sam.invoke(invocation.function, invocation.path, invocation.name.replace("/", "__"))
                problem = event_files.mismatch(invocation.expected, result.answer)
                if problem and result.answer is None:
                    problem = f"no answer from sam local invoke (exit {result.returncode})"
                report.record(
                    f"{invocation.name} [{invocation.function}]",
                    problem,
                    event_files.describe(result.answer),
                    result.seconds,
                    result.log_path,
                )

    lanes = sorted(event_files.lanes(), key=lambda lane: -sum(len(m.invocations) for m in lane))
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for future in [pool.submit(run_lane, lane) for lane in lanes]:
            future.result()


def check_published(stack: LocalStack, report: Report, name: str, detail_type: str, **detail: Any) -> None:
    """An event of `detail_type` whose detail has the given values reached the bus (through the tap queue)."""
    started = time.monotonic()
    assert stack.events is not None
    published = stack.events.published(wait_seconds=2.0)
    found = [
        e
        for e in published
        if e.get("detail-type") == detail_type and all(e["detail"].get(k) == v for k, v in detail.items())
    ]
    seen = [(e.get("detail-type"), e["detail"].get("subject_ref"), e["detail"].get("outcome")) for e in published]
    problem = "" if found else f"no {detail_type} with {detail} on the event bus (published: {seen})"
    report.record(f"event bus: {name}", problem, f"{detail_type} {detail}", time.monotonic() - started)


class StreamToSam:
    """Lambda's DynamoDB event source mapping for EventsProcessorFunction, invoking it with the SAM CLI."""

    def __init__(self, sam: SamCli, stack: LocalStack, report: Report, scratch: Path) -> None:
        (self.mapping,) = [m for m in stream_mappings() if m.function == "EventsProcessorFunction"]
        self.sam, self.report, self.scratch = sam, report, scratch
        client: Any = boto3.client
        options = {
            "endpoint_url": stack.dynamodb_endpoint,
            "region_name": seed.REGION,
            "aws_access_key_id": "local",
            "aws_secret_access_key": "local",
        }
        table = client("dynamodb", **options).describe_table(TableName=stack.table_name)["Table"]
        stream_arn = table["LatestStreamArn"]
        assert stack.events is not None
        dead_letters = stack.events.dead_letter_queue_url
        sqs = client("sqs", **{**options, "endpoint_url": stack.secrets_endpoint})
        self.poller = StreamPoller(
            self.mapping,
            self._invoke,
            streams_client=client("dynamodbstreams", **options),
            stream_arn=stream_arn,
            context_factory=lambda: None,
            send_to_dlq=lambda message: sqs.send_message(QueueUrl=dead_letters, MessageBody=json.dumps(message)),
            function_arn=f"arn:aws:lambda:{seed.REGION}:123456789012:function:{self.mapping.function}",
        )
        self.invocations = 0

    def drain(self) -> int:
        """Deliver what the stream holds (filtered as the template's FilterCriteria say); records read."""
        read = self.poller.poll_once()
        while (more := self.poller.poll_once()) > 0:
            read += more
        return read

    def _invoke(self, event: dict[str, Any], _context: Any) -> Any:
        self.invocations += 1
        path = self.scratch / f"stream-batch-{self.invocations}.json"
        path.write_text(json.dumps(event, default=str), encoding="utf-8")
        result = self.sam.invoke(self.mapping.function, path, f"stream__batch-{self.invocations}")
        expected: dict[str, Any] = {"batchItemFailures": []}
        self.report.record(
            f"stream batch of {len(event['Records'])} record(s) [{self.mapping.function}]",
            event_files.mismatch(expected, result.answer),
            event_files.describe(result.answer),
            result.seconds,
            result.log_path,
        )
        if not isinstance(result.answer, dict) or "errorMessage" in result.answer:
            raise RuntimeError(f"{self.mapping.function} failed: {result.answer}")
        return result.answer


@contextmanager
def started_api(sam: SamCli, log_path: Path) -> Iterator[str]:
    """`sam local start-api` on a free 127.0.0.1 port until the block ends; its base URL."""
    port = free_port()
    command = sam.command(
        "local",
        "start-api",
        "--template",
        str(BUILT_TEMPLATE),
        "--env-vars",
        str(sam.env_file),
        "--skip-pull-image",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--warm-containers",
        "LAZY",
    )
    with log_path.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=sam.env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        try:
            wait_for_port("127.0.0.1", port, timeout=API_START_TIMEOUT)
        except TimeoutError as exc:
            raise RuntimeError(f"sam local start-api did not listen; see {log_path}") from exc
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C first (SAM then stops its warm containers), then SIGTERM, then SIGKILL; by process id."""
    for sig, wait in ((signal.SIGINT, 30.0), (signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        if process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


def run_api_path(sam: SamCli, stack: LocalStack, report: Report, scratch: Path) -> None:
    stream = StreamToSam(sam, stack, report, scratch)
    stream.drain()  # what the event files stored is processed first: the path below starts clean
    key = {"x-api-key": seed.SEED_API_KEY}
    with started_api(sam, WORK_DIR / "start-api.log") as api, httpx.Client(base_url=api, timeout=120.0) as http:

        def request(name: str, method: str, path: str, status: int, **kwargs: Any) -> httpx.Response | None:
            started = time.monotonic()
            try:
                response = http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                report.record(f"start-api {name}", f"{type(exc).__name__}: {exc}", "", time.monotonic() - started)
                return None
            problem = "" if response.status_code == status else f"expected {status}, got {response.status_code}"
            if problem:
                problem += f": {response.text[:300]}"
            report.record(f"start-api {name}", problem, str(response.status_code), time.monotonic() - started)
            return None if problem else response

        request("GET /v1/health", "GET", "/v1/health", 200)
        registration = {"provider": "smartregion", "user_id": E2E_USER, "payload": "PAYLOAD123"}
        request("POST /v1/registrations, seeded key", "POST", "/v1/registrations", 201, json=registration, headers=key)
        # An unknown key is denied by the authorizer: the gateway answers 403 and no function runs.
        refused = request(
            "POST /v1/registrations, unknown key",
            "POST",
            "/v1/registrations",
            403,
            json=registration,
            headers={"x-api-key": "cbk_not-a-key-of-this-stack"},
        )
        if refused is not None:
            check_gateway_answer(report, refused, "unknown key")
        missing = request("POST /v1/registrations, no key", "POST", "/v1/registrations", 401, json=registration)
        if missing is not None:
            check_gateway_answer(report, missing, "no key")
        message = {"provider": "biway", "recipient": "+33670000009", "text": "sam local start-api"}
        sent = request(
            "POST /v1/messages (Bi-way)",
            "POST",
            "/v1/messages",
            201,
            json=message,
            headers={**key, "Idempotency-Key": f"sam-local-{uuid.uuid4()}"},
        )
        if sent is None:
            return
        created = sent.json()
        report_body = {
            "event_id": f"sam-local-{uuid.uuid4()}",
            "event": "MESSENGER_REPORT",
            "resource_id": created["provider_ref"],
            "state": "read",
            # A provider clock a little behind ours, as real ones drift: the report must still win
            # over our own first status (`accepted`), which carries no time to compare with.
            "occurred_at": (datetime.now(UTC) - timedelta(seconds=2)).isoformat().replace("+00:00", "Z"),
            "recipient": message["recipient"],
            "data": {},
        }
        token = seed.SEED_CALLBACK_TOKENS["biway"]
        if request("POST /v1/callbacks/biway/<token>", "POST", f"/v1/callbacks/biway/{token}", 200, json=report_body):
            started = time.monotonic()
            read = stream.drain()
            report.record(
                "stream read after the callback",
                "" if stream.invocations else "no stream batch reached EventsProcessorFunction",
                f"{read} record(s), {stream.invocations} batch(es) in all",
                time.monotonic() - started,
            )
        back = request(f"GET /v1/messages/{created['id']}", "GET", f"/v1/messages/{created['id']}", 200, headers=key)
        if back is not None:
            status = back.json().get("status")
            report.record(
                "message read back: status after the read report",
                "" if status == "read" else f"expected status read, got {status}",
                str(status),
                0.0,
            )
        check_published(
            stack,
            report,
            "the processor applied the read report to the message",
            "biway.message.read",
            message_id=created["id"],
            outcome="applied",
        )


def check_gateway_answer(report: Report, response: httpx.Response, case: str) -> None:
    """The refusal came from the gateway (the authorizer's verdict), not from a function's problem."""
    kind = response.headers.get("content-type", "")
    problem = "" if not kind.startswith("application/problem+json") else f"a function answered: {response.text[:200]}"
    report.record(f"start-api {case}: refused at the gateway", problem, kind, 0.0)


def preflight(stack: LocalStack, report: Report) -> None:
    """A container on the bridge reaches the stack (else every invocation would fail the same way)."""
    started = time.monotonic()
    probe = f"import urllib.request; urllib.request.urlopen('{stack.secrets_endpoint}/moto-api/', timeout=5).read()"
    done = subprocess.run(
        # python3 by PATH: /usr/bin in the image built here, /var/lang/bin in Lambda's own
        ["docker", "run", "--rm", "--network", "bridge", "--entrypoint", "python3", base_image.IMAGE, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    problem = "" if done.returncode == 0 else f"a container cannot reach {stack.secrets_endpoint}: {done.stderr[-300:]}"
    report.record(f"container reaches the stack at {stack.host}", problem, "reachable", time.monotonic() - started)


def sam_build(sam: SamCli) -> None:
    done = step("sam build")
    log_path = WORK_DIR / "sam-build.log"
    with log_path.open("wb") as output:
        built = subprocess.run(
            sam.command("build"), cwd=ROOT, env=sam.env, stdout=output, stderr=subprocess.STDOUT, check=False
        )
    if built.returncode != 0:
        print("\n".join(_tail(log_path, 30)), flush=True)
        raise RuntimeError(f"sam build failed (exit {built.returncode}); see {log_path}")
    done(f"built into {BUILD_DIR.relative_to(ROOT)}")


# -- main ------------------------------------------------------------------------------------------


def _raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds into the ExitStack: everything started gets stopped


def run(args: argparse.Namespace) -> int:
    report = Report()
    began = time.monotonic()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    logs = WORK_DIR / "logs"
    logs.mkdir(exist_ok=True)
    for old in logs.glob("*.log"):
        old.unlink()
    with ExitStack() as cleanup:
        done = step("docker engine")
        daemon = docker_host.ensure_daemon(WORK_DIR / "dockerd.log")
        if daemon is not None and not args.keep_docker:
            cleanup.callback(daemon.stop)
        done(f"dockerd started here (pid {daemon.pid}, log {daemon.log_path})" if daemon else "already running")

        done = step(f"Lambda base image {base_image.IMAGE}")
        done(base_image.ensure(pull=not args.no_pull))

        env_file = WORK_DIR / "env.json"
        sam = SamCli(Path(args.sam), sam_cli_environment(sts_endpoint=""), env_file, logs)
        if not args.skip_build:
            sam_build(sam)

        gateway = docker_host.bridge_gateway()
        done = step(f"seeded local stack on {gateway} (the docker bridge's gateway)")
        stack = LocalStack(api_port=0, seeded=True, host=gateway, handlers_in_process=False)
        cleanup.callback(stack.stop)
        stack.start()
        sam.env = sam_cli_environment(sts_endpoint=stack.secrets_endpoint)
        write_env_json(stack.container_environment(), env_file)
        done(f"moto {stack.secrets_endpoint}; simulators {', '.join(stack.simulators.base_urls().values())}")
        # whatever SAM leaves running (an interrupted invoke, start-api's warm containers) is ours to stop
        cleanup.callback(lambda: docker_host.remove_containers(docker_host.sam_containers_under(BUILD_DIR)))
        scratch = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="sam-local-")))

        print("== checks", flush=True)
        preflight(stack, report)
        if report.failed:
            print(report.summary(), flush=True)
            return 1
        phase_started = time.monotonic()
        run_event_files(sam, report, args.jobs)
        took = time.monotonic() - phase_started
        print(f"   event files: {took:.0f} s with {args.jobs} lane(s) at a time", flush=True)
        check_published(
            stack,
            report,
            "events_processor/new_event.json processed the event callbacks/ stored",
            "smartregion.user.connected",
            subject_ref="tg-100500",
        )
        if not args.no_api:
            phase_started = time.monotonic()
            try:
                run_api_path(sam, stack, report, scratch)
            except RuntimeError as exc:
                report.record("start-api path", str(exc), "", time.monotonic() - phase_started)
            print(f"   start-api path: {time.monotonic() - phase_started:.0f} s", flush=True)
    print(f"   total {time.monotonic() - began:.0f} s; logs in {WORK_DIR.relative_to(ROOT)}", flush=True)
    print(report.summary(), flush=True)
    return report.exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Every event file and a start-api path under the real SAM CLI")
    parser.add_argument("--sam", default=str(SAM), help="the SAM CLI (default: .venv-sam/bin/sam)")
    parser.add_argument("--jobs", type=int, default=2, help="lanes of event files invoked side by side")
    parser.add_argument("--skip-build", action="store_true", help="use .aws-sam/build as it is")
    parser.add_argument("--no-api", action="store_true", help="event files only, no start-api path")
    parser.add_argument("--no-pull", action="store_true", help="build the base image rather than pull it")
    parser.add_argument("--keep-docker", action="store_true", help="leave a dockerd started here running")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    try:
        return run(args)
    except (RuntimeError, docker_host.DockerUnavailableError, base_image.BaseImageError) as exc:
        print(f"sam-local: {exc}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
