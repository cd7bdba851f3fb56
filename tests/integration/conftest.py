"""Integration tests: the real handlers against DynamoDB Local, the moto server (Secrets Manager)
and the SmartRegion simulator, over real connections on 127.0.0.1.

The stack is package-scoped: it is stopped (and the environment restored) before other test
packages run, so unit tests never see its endpoints.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from local.dynamodb_local import jar_installed, java_available
from local.stack import LocalStack
from tests.conftest import reset_caches


@pytest.fixture(scope="package")
def stack() -> Iterator[LocalStack]:
    with LocalStack(api_port=0, table_name="chatbridge-it") as running:
        if java_available() and jar_installed():
            # Where DynamoDB Local can run, the integration suite must really use it.
            assert running.dynamodb_backend == "DynamoDB Local"
        yield running


@pytest.fixture(autouse=True)
def _fresh_clients(stack: LocalStack) -> Iterator[None]:
    # the root conftest clears caches around every test; the stack's environment stays in place
    reset_caches()
    stack.simulator.reset()
    yield


@pytest.fixture
def api(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.api_url, headers={"x-api-key": stack.api_key}, timeout=30) as client:
        yield client
