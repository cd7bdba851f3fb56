"""Cold start: import time of each function's handler module in a fresh interpreter.

For every function of template.yaml, and for a baseline that imports only boto3, httpx, pydantic
and the Powertools event handler, start a fresh interpreter and time the imports inside it (the
interpreter's own start-up is the same for all and left out). Runs are interleaved so drift on the
machine hits every subject alike. Prints medians, p90 and the ratio to the baseline.

    python -m benchmarks.cold_start [--runs 21] [--quick]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks import _harness
from local.lambda_runtime import LAYER_DIR
from local.template import ROOT, functions

BASELINE = "import boto3, httpx, pydantic\nfrom aws_lambda_powertools.event_handler import APIGatewayHttpResolver"
PROBE = """
import time
_started = time.perf_counter()
{imports}
print(time.perf_counter() - _started)
"""
# What Lambda sets; Powertools Tracer behaves as in a real cold start (X-Ray SDK loaded, patched).
LAMBDA_LIKE_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "chatbridge-bench",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "TABLE_NAME": "chatbridge-bench",
    "POWERTOOLS_SERVICE_NAME": "chatbridge",
    "POWERTOOLS_METRICS_NAMESPACE": "Chatbridge",
    "PYDANTIC_DISABLE_PLUGINS": "__all__",  # as template.yaml sets it
}


def subjects() -> dict[str, tuple[str, list[Path]]]:
    found: dict[str, tuple[str, list[Path]]] = {"baseline": (BASELINE, [])}
    for name, info in sorted(functions().items()):
        found[name] = (f"import {info.module}", [info.code_uri, LAYER_DIR])
        # boto3 is imported by the store on the first request, not at import: shown for honesty
        found[f"{name}+boto3"] = (f"import {info.module}\nimport boto3", [info.code_uri, LAYER_DIR])
    return found


def time_import(imports: str, paths: list[Path]) -> float:
    env = {**os.environ, **LAMBDA_LIKE_ENV, "PYTHONPATH": os.pathsep.join(str(p) for p in paths)}
    output = subprocess.run(
        [sys.executable, "-c", PROBE.format(imports=imports)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return float(output.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser, quick = _harness.parser(__doc__.splitlines()[0], argv)
    parser.add_argument("--runs", type=int, default=3 if quick else 21)
    args = parser.parse_args(argv)
    cases = subjects()
    for imports, paths in cases.values():  # warm the bytecode cache: Lambda ships compiled files too
        time_import(imports, paths)
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, (imports, paths) in cases.items():
            samples[name].append(time_import(imports, paths))
    baseline = statistics.median(samples["baseline"])
    print(f"python {sys.version.split()[0]}, {args.runs} fresh interpreters per subject, import time only")
    print(f"{'subject':<30}{'median ms':>12}{'p90 ms':>10}{'ratio':>8}")
    for name, values in samples.items():
        median = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"{name:<30}{median * 1000:>12.1f}{p90 * 1000:>10.1f}{median / baseline:>8.2f}")
    worst = max(statistics.median(v) for k, v in samples.items() if k != "baseline" and "+" not in k) / baseline
    print(f"worst function ratio to baseline (handler import): {worst:.2f} (target <= 1.20)")
    print("rows '+boto3' add what the first request loads (boto3 for the store), for comparison")


if __name__ == "__main__":
    main()
