"""SnapStart: an environment restored from a snapshot reuses nothing unique the snapshot captured.

A snapshot is simulated by the state a warm environment holds (a request served after the init:
clients, connections, a cached secret, rate-limit buckets, the random generator's state); a restore
by calling the hooks the layer registered with Lambda's `snapshot_restore_py` (faked here, as it
only exists in Lambda's runtime) after Lambda has handed the environment new credentials.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

import contacts_handler
from chatbridge import aws, snapshot
from chatbridge.clock import random_id
from chatbridge.integrations import ratelimit
from chatbridge.integrations.http import http_pool
from chatbridge.integrations.watbot.client import WatbotConnection
from chatbridge.secrets import load_connection
from chatbridge.store.base import get_event_store
from local.lambda_runtime import LAYER_DIR
from local.template import ROOT, functions
from tests.support import ProviderFakes, api_event, body_of

FAKE_RUNTIME = """
hooks = []
def register_after_restore(hook):
    hooks.append(hook)
def register_before_snapshot(hook):
    pass
"""


def restore_hooks(monkeypatch: pytest.MonkeyPatch) -> list[Callable[[], None]]:
    """What the layer registers with Lambda's runtime module when it is there."""
    hooks: list[Callable[[], None]] = []
    runtime = ModuleType("snapshot_restore_py")
    runtime.register_after_restore = hooks.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    assert snapshot.register_restore_hooks()
    return hooks


def restore(hooks: list[Callable[[], None]]) -> None:
    for hook in hooks:
        hook()


def test_outside_lambdas_runtime_nothing_is_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # makes the import fail
    assert not snapshot.register_restore_hooks()


def test_importing_any_handler_registers_the_restore_hook(tmp_path: Path) -> None:
    (tmp_path / "snapshot_restore_py.py").write_text(FAKE_RUNTIME, encoding="utf-8")
    registered = {}
    for name, info in functions().items():
        probe = (
            f"import importlib, json, sys; sys.path[:0] = {[str(tmp_path), str(info.code_uri), str(LAYER_DIR)]!r}\n"
            f"importlib.import_module({info.module!r}); import snapshot_restore_py as runtime\n"
            "print(json.dumps([f'{h.__module__}.{h.__qualname__}' for h in runtime.hooks]))"
        )
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True, timeout=60
        )
        registered[name] = json.loads(done.stdout.strip().splitlines()[-1])
    assert registered == {name: ["chatbridge.snapshot.forget_execution_environment"] for name in functions()}


def test_a_restore_rebuilds_clients_credentials_connections_and_cached_secrets(
    providers: ProviderFakes, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooks = restore_hooks(monkeypatch)
    monkeypatch.setenv("RATE_LIMIT_WATBOT", "2")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "credentials-of-the-snapshot")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # the fixture's session resolved moto's keys
    # the snapshot: the state a served request leaves behind
    event = api_event("GET", "/v1/contacts", route="GET /v1/contacts", query={"provider": "watbot"})
    answer = contacts_handler.lambda_handler(event, context)
    assert answer["statusCode"] == 200, body_of(answer)
    before = {
        "dynamodb": aws.dynamodb_client(),
        "secrets": aws.secrets_provider(),
        "store": get_event_store(),
        "http": http_pool.client_for("https://watbot.test"),
        "bucket": ratelimit.throttle_for("watbot", "wb-test-token", None),
    }
    assert load_connection("watbot", "default", WatbotConnection).api_token.get_secret_value() == "wb-test-token"
    assert before["dynamodb"]._request_signer._credentials.access_key == "credentials-of-the-snapshot"
    # while the snapshot sleeps, the secret is rotated; the restored environment gets new credentials
    boto3.client("secretsmanager").put_secret_value(
        SecretId="chatbridge/watbot/default",
        SecretString=json.dumps({"api_token": "rotated-token", "base_url": "https://watbot.test"}),
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "credentials-after-restore")

    restore(hooks)

    after = {
        "dynamodb": aws.dynamodb_client(),
        "secrets": aws.secrets_provider(),
        "store": get_event_store(),
        "http": http_pool.client_for("https://watbot.test"),
        "bucket": ratelimit.throttle_for("watbot", "wb-test-token", None),
    }
    assert [name for name in before if after[name] is before[name]] == []
    assert after["dynamodb"]._request_signer._credentials.access_key == "credentials-after-restore"
    assert load_connection("watbot", "default", WatbotConnection).api_token.get_secret_value() == "rotated-token"


def test_environments_restored_from_one_snapshot_draw_different_random_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hooks = restore_hooks(monkeypatch)
    captured = random.getstate()  # what every environment restored from the snapshot starts with

    def environment(with_hooks: bool) -> tuple[list[float], str]:
        random.setstate(captured)
        if with_hooks:
            restore(hooks)
        return [random.random() for _ in range(3)], random_id()

    unhooked = [environment(with_hooks=False) for _ in range(2)]
    assert unhooked[0][0] == unhooked[1][0]  # what the hook is for: the same jitter everywhere
    restored = [environment(with_hooks=True) for _ in range(2)]
    assert restored[0][0] != restored[1][0]
    # ids never came from `random`: uuid4 reads os.urandom, which a snapshot cannot replay
    assert len({unhooked[0][1], unhooked[1][1], restored[0][1], restored[1][1]}) == 4


def test_the_hook_imports_nothing_the_function_did_not(tmp_path: Path) -> None:
    probe = (
        f"import sys; sys.path[:0] = {[str(LAYER_DIR)]!r}\n"
        "from chatbridge.snapshot import forget_execution_environment\n"
        "loaded = set(sys.modules); forget_execution_environment()\n"
        "print(sorted(set(sys.modules) - loaded))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"
