"""Schemathesis against the local stack: every operation of the OpenAPI document, seeded and bounded.

`make fuzz` (`python -m tools.api_fuzz`): starts the local stack on 127.0.0.1 (dev server with the
real handlers, moto or DynamoDB Local, the provider simulators), runs `schemathesis run` over HTTP
with the settings of tools/schemathesis.toml (fixed seed, 25 examples per operation and phase),
prints the figures and exits 1 when an answer is a server error, breaks the OpenAPI document
(status, media type, schema), or a request without a valid key is accepted. Other findings (a
schema-valid request refused for a rule the document cannot state, such as "one of two query
parameters") are printed, not failed on.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

CONFIG = Path(__file__).with_name("schemathesis.toml")
SERVER_ERROR = "ST101"
ACCEPTED_WITHOUT_AUTH = "ST401"


def _schemathesis() -> str:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or shutil.which("schemathesis")
    if found is None:
        raise SystemExit("schemathesis is not installed: make install (requirements-dev.txt)")
    return found


def summarize(report: dict[str, Any]) -> tuple[dict[str, int], list[str]]:
    """Figures of a Schemathesis JSON report, and the failures that fail the run."""
    by_code: Counter[str] = Counter()
    blocking = []
    for failure in report.get("failures", []):
        code, count = str(failure["code"]), int(failure["count"])
        by_code[code] += count
        if code.startswith("ST1") or code == ACCEPTED_WITHOUT_AUTH:  # ST1xx: server errors, the document
            blocking.append(f"{code} {failure['title']}: {count} ({', '.join(failure['operations'])})")
    figures = {
        "operations": int(report["operations"]["tested"]),
        "cases": int(report["test_cases"]["generated"]),
        "server errors": by_code[SERVER_ERROR],
        "schema violations": sum(n for code, n in by_code.items() if code.startswith("ST1") and code != SERVER_ERROR),
        "accepted without a valid key": by_code[ACCEPTED_WITHOUT_AUTH],
        "other findings": sum(
            n for code, n in by_code.items() if not code.startswith("ST1") and code != ACCEPTED_WITHOUT_AUTH
        ),
    }
    return figures, blocking


def run(max_examples: int | None, seed: int | None) -> int:
    # Input handling is under test, not rate limits: no throttling by the Watbot client or simulator.
    os.environ["RATE_LIMIT_WATBOT"] = "0"
    # The handlers' INFO lines would bury the report; set before they are imported.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from local.stack import LocalStack

    with tempfile.TemporaryDirectory() as scratch, LocalStack(api_port=0, table_name="chatbridge-fuzz") as stack:
        stack.watbot.rate_limit = None
        report_path = Path(scratch) / "report.json"
        command = [
            _schemathesis(),
            "--config-file",
            str(CONFIG),
            "run",
            f"{stack.api_url}/v1/openapi.json",
            "--no-color",
            "--report",
            "json",
            "--report-json-path",
            str(report_path),
        ]
        if max_examples is not None:
            command += ["--max-examples", str(max_examples)]
        if seed is not None:
            command += ["--seed", str(seed)]
        environment = {
            **os.environ,
            "CHATBRIDGE_FUZZ_API_KEY": stack.api_key,
            "CHATBRIDGE_FUZZ_CALLBACK_TOKEN": stack.callback_tokens["smartregion"],
        }
        finished = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)  # noqa: S603
        print(finished.stdout)
        if not report_path.is_file():
            print(finished.stderr[-5_000:], file=sys.stderr)
            return 2
        figures, blocking = summarize(json.loads(report_path.read_text(encoding="utf-8")))
    print("figures:", ", ".join(f"{name} {value}" for name, value in figures.items()))
    for line in blocking:
        print("FAIL", line)
    return 1 if blocking else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, help="per operation and phase (default: schemathesis.toml)")
    parser.add_argument("--seed", type=int, help="default: schemathesis.toml")
    args = parser.parse_args()
    raise SystemExit(run(args.max_examples, args.seed))


if __name__ == "__main__":
    main()
