"""The README's examples run as pasted against `make dev`, in order, with the statuses it states.

The README marks each block meant to be pasted with `<!-- runnable -->` before its ```bash fence
(prose-only snippets, deploy commands and the connections file are not marked, on purpose), and
ends each curl command with `# → <status>`. This test starts `python -m local.dev` (what `make dev`
runs) on a free port in a scratch copy of the repository's layout (symlinks, and a copy of `local/`,
where make dev writes its key and environment files: a `make dev` of this checkout is not disturbed),
then runs every marked block in one `bash -euo pipefail`, from the copy's root, with a clean
environment (no AWS variable of the test process), as a newcomer's shell would be.

curl is observed, not changed: a shell function runs the real curl with a `--write-out` that goes
to stderr (`%{stderr}`), so output and command substitutions stay as pasted; the statuses seen must
equal the `# → NNN` annotations of the blocks, in order. A block without annotation for one of its
curls, or a status that differs, fails.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from local.ports import free_port
from local.template import ROOT

README = ROOT / "README.md"
RUNNABLE = re.compile(r"<!-- runnable -->\n```bash\n(.*?)```", re.DOTALL)
EXPECTED_STATUS = re.compile(r"#\s*→\s*(\d{3})\b")
STATUS_LINE = re.compile(r"^@@status (\d{3})$", re.MULTILINE)
BLOCK_LINE = re.compile(r"^@@block (\d+)$", re.MULTILINE)
START_TIMEOUT_SECONDS = 120.0
# What a fresh shell has; nothing the test process (or the integration stack it runs) set.
KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "JAVA_HOME", "PYENV_ROOT", "PYENV_VERSION", "TERM")
CURL_OBSERVER = "curl() { command curl --write-out '%{stderr}\\n@@status %{http_code}\\n' \"$@\"; }\n"


def runnable_blocks(text: str) -> list[str]:
    return RUNNABLE.findall(text)


def expected_statuses(block: str) -> list[str]:
    return EXPECTED_STATUS.findall(block)


def script_of(blocks: list[str]) -> str:
    parts = ["set -euo pipefail", CURL_OBSERVER]
    for number, block in enumerate(blocks):
        parts.append(f"echo '@@block {number}' >&2")
        parts.append(block)
    return "\n".join(parts) + "\n"


def _mirror(target: Path) -> None:
    """The repository's top level as symlinks; `local/` and `.venv/` as real folders of symlinks."""
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


def _clean_env(port: int) -> dict[str, str]:
    env = {name: os.environ[name] for name in KEPT_ENV if name in os.environ}
    env["CHATBRIDGE_PORT"] = str(port)
    return env


@pytest.fixture(scope="module")
def make_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    root = tmp_path_factory.mktemp("readme")
    _mirror(root)
    env = _clean_env(free_port())
    log = (root / "dev.log").open("w")
    process = subprocess.Popen(
        [str(root / ".venv" / "bin" / "python"), "-m", "local.dev"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_ready(process, root, int(env["CHATBRIDGE_PORT"]))
        yield root, env
    finally:
        process.send_signal(signal.SIGINT)  # make dev's Ctrl-C: stops what it started
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_ready(process: subprocess.Popen[bytes], root: Path, port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"make dev exited {process.returncode}:\n{(root / 'dev.log').read_text()}")
        if (root / "local" / ".dev-stack.env").exists():
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
        time.sleep(0.5)
    raise AssertionError(f"make dev not ready within {START_TIMEOUT_SECONDS:.0f} s:\n{(root / 'dev.log').read_text()}")


# `<id>` and the like: bash reads `<` as a redirection (`bash: id: No such file or directory`)
PLACEHOLDER = re.compile(r"<[A-Za-z][^<>\n]*>")


def test_the_readme_marks_its_runnable_blocks_and_states_each_status() -> None:
    blocks = runnable_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    for block in blocks:
        assert expected_statuses(block), f"a runnable block states no status:\n{block}"
        assert not PLACEHOLDER.findall(block), f"placeholders break the shell when pasted:\n{block}"
        # the port comes from CHATBRIDGE_PORT, set once with the API variable
        assert "127.0.0.1:3000" not in block


def test_every_runnable_readme_block_runs_as_pasted_against_make_dev(make_dev: tuple[Path, dict[str, str]]) -> None:
    root, env = make_dev
    blocks = runnable_blocks(README.read_text(encoding="utf-8"))
    result = subprocess.run(
        ["bash", "-c", script_of(blocks)], cwd=root, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    reached = [int(n) for n in BLOCK_LINE.findall(result.stderr)]
    where = f"block {reached[-1] if reached else 0}" if reached else "before the first block"
    assert result.returncode == 0, f"failed in {where} ({result.returncode}):\n{result.stderr[-3000:]}"
    # stderr, cut at each block's marker: the statuses of block N are those after its marker
    per_block = re.split(r"^@@block \d+$", result.stderr, flags=re.MULTILINE)[1:]
    assert len(per_block) == len(blocks)
    for number, (block, output) in enumerate(zip(blocks, per_block, strict=True)):
        seen = STATUS_LINE.findall(output)
        assert seen == expected_statuses(block), (
            f"block {number}: statuses seen {seen}, the README states {expected_statuses(block)}\n{output[-3000:]}"
        )
