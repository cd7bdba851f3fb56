"""`make dev` in a subprocess, as a newcomer runs it: in a scratch copy of the repository's layout
(symlinks, and a copy of `local/`, where make dev writes its key and environment files, so a
`make dev` of this checkout is not disturbed), with a clean environment (no AWS variable of the test
process or of the integration stack it runs), on a free port. Stopped with Ctrl-C's signal.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from local.ports import free_port
from local.template import ROOT

START_TIMEOUT_SECONDS = 120.0
# What a fresh shell has; nothing the test process (or the integration stack it runs) set.
KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "JAVA_HOME", "PYENV_ROOT", "PYENV_VERSION", "TERM")


@dataclass
class MakeDev:
    root: Path  # the scratch repository: run README commands from here
    env: dict[str, str]  # the shell's environment (CHATBRIDGE_PORT included)
    port: int

    @property
    def log(self) -> str:
        return (self.root / "dev.log").read_text(encoding="utf-8", errors="replace")

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_key(self) -> str:
        return (self.root / "local" / ".demo-api-key").read_text(encoding="utf-8").strip()


def mirror(target: Path) -> None:
    """The repository's top level as symlinks; `local/` copied; `.venv/` a folder of symlinks."""
    target.mkdir(parents=True, exist_ok=True)
    for entry in ROOT.iterdir():
        if entry.name in {".git", "local", ".venv"}:
            continue
        (target / entry.name).symlink_to(entry)
    # copied, not linked: local/template.py finds the repository root from its own resolved path,
    # so the copy's make dev writes its key and env files into the copy
    shutil.copytree(
        ROOT / "local",
        target / "local",
        ignore=shutil.ignore_patterns("__pycache__", ".demo-api-key", ".dev-stack.env", "connections.json"),
    )
    # The interpreter running the tests is the project's venv: Makefile targets find it at .venv/,
    # with a fresh .installed so make does not reinstall into it.
    venv = Path(sys.prefix)
    (target / ".venv").mkdir()
    for entry in venv.iterdir():
        if entry.name != ".installed":
            (target / ".venv" / entry.name).symlink_to(entry)
    (target / ".venv" / ".installed").touch()


def clean_env(port: int) -> dict[str, str]:
    env = {name: os.environ[name] for name in KEPT_ENV if name in os.environ}
    env["CHATBRIDGE_PORT"] = str(port)
    return env


@contextmanager
def make_dev(root: Path, *args: str) -> Iterator[MakeDev]:
    """`python -m local.dev ARGS` (make dev) from `root`, a scratch copy, until the block ends."""
    mirror(root)
    port = free_port()
    running = MakeDev(root=root, env=clean_env(port), port=port)
    with (root / "dev.log").open("w") as log:
        process = subprocess.Popen(
            [str(root / ".venv" / "bin" / "python"), "-m", "local.dev", *args],
            cwd=root,
            env=running.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(process, running)
            yield running
        finally:
            process.send_signal(signal.SIGINT)  # make dev's Ctrl-C: stops what it started
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def run_to_exit(root: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m local.dev ARGS` expected to stop on its own (a refused connections file)."""
    mirror(root)
    return subprocess.run(
        [str(root / ".venv" / "bin" / "python"), "-m", "local.dev", *args],
        cwd=root,
        env=clean_env(free_port()),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _wait_ready(process: subprocess.Popen[bytes], running: MakeDev) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"make dev exited {process.returncode}:\n{running.log}")
        # the banner is printed once the key and env files are written
        if (running.root / "local" / ".dev-stack.env").exists() and "Ctrl-C stops everything" in running.log:
            try:
                if httpx.get(f"{running.api_url}/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
        time.sleep(0.5)
    raise AssertionError(f"make dev not ready within {START_TIMEOUT_SECONDS:.0f} s:\n{running.log}")
