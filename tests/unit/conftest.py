"""Unit tests: moto's mock_aws, httpx MockTransport, and no sockets at all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pytest_socket import disable_socket, enable_socket

from chatbridge.providers.base import RetryPolicy, http_pool
from local.template import create_table
from tests.support import FakeLambdaContext, FakeSmartRegion

SMARTREGION_SECRET = {
    "api_key": "sr-test-key",
    "project_id": "proj-1",
    "channel_id": "chan-1",
    "base_url": "https://smartregion.test",
}


@pytest.fixture(autouse=True)
def _no_sockets() -> Iterator[None]:
    disable_socket()
    yield
    enable_socket()


@pytest.fixture(autouse=True)
def _instant_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    from chatbridge.providers.base import ProviderClient

    monkeypatch.setattr(ProviderClient, "retry_policy", RetryPolicy(sleep=lambda _: None))


@pytest.fixture
def aws() -> Iterator[None]:
    """A mocked account with the table of template.yaml and a SmartRegion connection secret."""
    with mock_aws():
        create_table(boto3.client("dynamodb"), "chatbridge-test")
        boto3.client("secretsmanager").create_secret(
            Name="chatbridge/smartregion/default", SecretString=json.dumps(SMARTREGION_SECRET)
        )
        yield


@pytest.fixture
def smartregion(aws: None) -> FakeSmartRegion:
    fake = FakeSmartRegion(api_key=SMARTREGION_SECRET["api_key"])
    http_pool.reset(fake.transport())
    return fake


@pytest.fixture
def context() -> FakeLambdaContext:
    return FakeLambdaContext()


def table_items() -> list[dict[str, Any]]:
    """Test-only view of everything stored (a Scan is fine here, never in the product)."""
    return boto3.client("dynamodb").scan(TableName="chatbridge-test")["Items"]


def registration_items() -> list[dict[str, Any]]:
    return [i for i in table_items() if i["pk"]["S"].startswith("REG#")]
