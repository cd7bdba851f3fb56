"""What every benchmark shares: its command line with `--quick`.

Import paths come from local.lambda_runtime (`ensure_every_function_path`, `LAYER_DIR`), as the
local stack has them; a benchmark imports nothing from tests/. The Makefile runs every module of
this package not starting with `_` (`make bench`, `make bench-quick`).
"""

from __future__ import annotations

import argparse
import sys

QUICK_HELP = (
    "small sizes, for CI: the figures are printed, the targets are not enforced (the run fails only "
    "when the benchmark itself breaks or a correctness check fails)"
)


def parser(description: str, argv: list[str] | None) -> tuple[argparse.ArgumentParser, bool]:
    """The benchmark's parser with `--quick`, and whether it is given (sizes default to it)."""
    quick = "--quick" in (sys.argv[1:] if argv is None else argv)
    found = argparse.ArgumentParser(description=description, allow_abbrev=False)
    found.add_argument("--quick", action="store_true", help=QUICK_HELP)
    return found, quick
