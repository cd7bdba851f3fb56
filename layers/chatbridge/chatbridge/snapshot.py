"""Lambda SnapStart: what an execution environment restored from a snapshot must not reuse.

With SnapStart (template.yaml parameter `SnapStart`), Lambda runs a function's init once, snapshots
the memory, and starts every new execution environment from that snapshot. Whatever init left in
memory is then shared by all of them: the random generator's state, boto3 sessions with the
credentials they resolved, open connections, cached secrets, a rate limiter's clock readings.

The layer creates clients, pools and caches on first use, so a snapshot normally holds none of
them; the restore hook makes that a guarantee rather than a habit: after every restore it drops
each of them (only in modules already imported: the hook must not slow the restore down) and
reseeds `random`. ids come from `uuid4`/`secrets` (os.urandom), which a snapshot cannot replay.

`snapshot_restore_py` exists only in Lambda's Python runtime (3.12+); elsewhere (tests, the local
stack) nothing is registered and `forget_execution_environment` is what test resets call.
"""

from __future__ import annotations

import importlib
import random
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

# (module, attribute path of a function without arguments): every per-environment cache of the layer.
RESETS: tuple[tuple[str, str], ...] = (
    ("chatbridge.aws", "reset_clients"),  # boto3 clients and the secrets provider (its cache)
    ("chatbridge.store.base", "reset_stores"),  # stores holding those clients
    ("chatbridge.idempotency", "reset"),  # the persistence layer and its client
    ("chatbridge.integrations.http", "http_pool.reset"),  # provider connections
    ("chatbridge.integrations.ratelimit", "reset"),  # token buckets read the monotonic clock
    ("chatbridge.webhooks.sender", "sender_pool.reset"),  # bot connections
    ("chatbridge.webhooks.secrets", "forget_opened"),  # decrypted signing secrets
    ("chatbridge.settings", "get_settings.cache_clear"),
    ("aws_lambda_powertools.utilities.parameters", "clear_caches"),  # secrets read through Powertools
)


def _loaded(module: str) -> ModuleType | None:
    return sys.modules.get(module)


def forget_execution_environment() -> None:
    """Drop every client, connection, credential and cache of the layer, and reseed `random`."""
    random.seed()  # from os.urandom: each restored environment draws its own jitter
    boto3: Any = _loaded("boto3")
    if boto3 is not None:
        # the default session keeps the credentials it resolved first: new clients resolve them again
        boto3.DEFAULT_SESSION = None
    for module_name, path in RESETS:
        module = _loaded(module_name)
        if module is None:
            continue  # never imported, nothing cached
        target: object = module
        for name in path.split("."):
            target = getattr(target, name)
        reset: Callable[[], object] = target  # type: ignore[assignment]
        reset()


def register_restore_hooks() -> bool:
    """Register `forget_execution_environment` to run after each SnapStart restore; False outside Lambda."""
    try:
        runtime = importlib.import_module("snapshot_restore_py")
    except ImportError:
        return False
    runtime.register_after_restore(forget_execution_environment)
    return True
