"""The README's examples run as pasted against `make dev`, in order, with the statuses it states.

The README marks each block meant to be pasted with `<!-- runnable -->` before its ```bash fence
(prose-only snippets, deploy commands and the connections file are not marked, on purpose), and
ends each curl command with `# → <status>`. This test starts `python -m local.dev` (what `make dev`
runs; tests/integration/make_dev.py: a scratch copy of the repository, a clean environment, a free
CHATBRIDGE_PORT), then runs every marked block in one `bash -euo pipefail`, from the copy's root,
as a newcomer's shell would.

curl is observed, not changed: a shell function runs the real curl with a `--write-out` that goes
to stderr (`%{stderr}`), so output and command substitutions stay as pasted; the statuses each
block's curls answer must equal its `# → NNN` annotations, in order. A curl without annotation, or
a status that differs, fails.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from local.template import ROOT
from tests.integration.make_dev import MakeDev, make_dev

README = ROOT / "README.md"
RUNNABLE = re.compile(r"<!-- runnable -->\n```bash\n(.*?)```", re.DOTALL)
EXPECTED_STATUS = re.compile(r"#\s*→\s*(\d{3})\b")
STATUS_LINE = re.compile(r"^@@status (\d{3})$", re.MULTILINE)
BLOCK_MARK = re.compile(r"^@@block \d+$", re.MULTILINE)
CURL_OBSERVER = "curl() { command curl --write-out '%{stderr}\\n@@status %{http_code}\\n' \"$@\"; }\n"
# `<id>` and the like: bash reads `<` as a redirection (`bash: id: No such file or directory`)
PLACEHOLDER = re.compile(r"<[A-Za-z][^<>\n]*>")


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


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeDev]:
    with make_dev(tmp_path_factory.mktemp("readme")) as running:
        yield running


def test_the_readme_marks_its_runnable_blocks_and_states_each_status() -> None:
    blocks = runnable_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    for block in blocks:
        assert expected_statuses(block), f"a runnable block states no status:\n{block}"
        assert not PLACEHOLDER.findall(block), f"placeholders break the shell when pasted:\n{block}"
        # the port comes from CHATBRIDGE_PORT, set once with the API variable
        assert "127.0.0.1:3000" not in block


def test_every_runnable_readme_block_runs_as_pasted_against_make_dev(dev: MakeDev) -> None:
    blocks = runnable_blocks(README.read_text(encoding="utf-8"))
    result = subprocess.run(
        ["bash", "-c", script_of(blocks)],
        cwd=dev.root,
        env=dev.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    # stderr cut at each block's marker: block N's statuses are those after its marker
    per_block = BLOCK_MARK.split(result.stderr)[1:]
    assert result.returncode == 0, f"failed in block {len(per_block) - 1}:\n{result.stderr[-3000:]}"
    assert len(per_block) == len(blocks)
    for number, (block, output) in enumerate(zip(blocks, per_block, strict=True)):
        seen = STATUS_LINE.findall(output)
        assert seen == expected_statuses(block), (
            f"block {number}: statuses seen {seen}, the README states {expected_statuses(block)}\n{output[-3000:]}"
        )


def test_the_dev_log_holds_request_lines_and_no_metrics(dev: MakeDev) -> None:
    # a provider call records metrics (chatbridge.observability.record_provider_call)
    answer = httpx.post(
        f"{dev.api_url}/v1/registrations",
        headers={"x-api-key": dev.api_key},
        json={"provider": "smartregion", "user_id": "tg-metrics", "payload": "PAYLOAD123"},
        timeout=30,
    )
    assert answer.status_code == 201
    time.sleep(0.5)  # the log line is written after the answer
    log = dev.log
    assert '"POST /v1/registrations" 201' in log
    assert '"_aws"' not in log  # CloudWatch EMF documents: off unless CHATBRIDGE_DEV_METRICS=1
    assert "CHATBRIDGE_DEV_METRICS=1" in log  # the banner says how to have them


def test_the_banner_names_every_provider_and_its_callback(dev: MakeDev) -> None:
    log = dev.log
    for title in ("SmartRegion", "Smartico", "Imbee", "Bi-way", "Watbot"):
        assert re.search(rf"^  {re.escape(title)}\s+simulator at http://127\.0\.0\.1:\d+", log, re.MULTILINE), title
    env_file = (Path(dev.root) / "local" / ".dev-stack.env").read_text(encoding="utf-8")
    for provider in ("smartregion", "biway"):
        url = re.search(rf"^export {provider.upper()}_CALLBACK_URL=(\S+)$", env_file, re.MULTILINE)
        assert url, provider
        assert f"curl -s -X POST {url.group(1)} -H 'Content-Type: application/json'" in log
