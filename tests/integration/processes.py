"""Handlers run in processes of their own: what two Lambda execution environments do at once.

Spawned, not forked: each process imports the layer and the handler afresh, as a cold start does,
and shares nothing with its parent but the environment (the local stack's endpoints and table) and
sys.path. Used by test_exactly_once_live.py.
"""

from __future__ import annotations

import importlib
import multiprocessing
from typing import Any

INVOCATION_TIMEOUT_SECONDS = 60


def _invoke(module: str, event: dict[str, Any], start: Any, answers: Any) -> None:
    from tests.support import FakeLambdaContext

    handler = importlib.import_module(module).lambda_handler
    start.wait(INVOCATION_TIMEOUT_SECONDS)  # every process is ready (imports done) before any sends
    answers.put(handler(event, FakeLambdaContext()))


def invoke_at_once(module: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Invoke `module`'s handler once per event, each in its own process, all released together."""
    spawn = multiprocessing.get_context("spawn")
    start, answers = spawn.Barrier(len(events)), spawn.Queue()
    processes = [spawn.Process(target=_invoke, args=(module, event, start, answers)) for event in events]
    for process in processes:
        process.start()
    try:
        results = [answers.get(timeout=INVOCATION_TIMEOUT_SECONDS) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
    assert all(process.exitcode == 0 for process in processes), [p.exitcode for p in processes]
    return results
