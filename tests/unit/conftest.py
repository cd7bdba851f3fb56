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
from tests.support import FakeLambdaContext, FakeSmartRegion, ProviderFakes

SMARTREGION_SECRET = {
    "api_key": "sr-test-key",
    "project_id": "proj-1",
    "channel_id": "chan-1",
    "base_url": "https://smartregion.test",
}
# Secret name -> value, created in every mocked account. Each provider adds its connection here.
CONNECTION_SECRETS: dict[str, dict[str, Any]] = {
    "chatbridge/smartregion/default": SMARTREGION_SECRET,
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
        secretsmanager = boto3.client("secretsmanager")
        for name, value in CONNECTION_SECRETS.items():
            secretsmanager.create_secret(Name=name, SecretString=json.dumps(value))
        yield


@pytest.fixture
def providers(aws: None) -> ProviderFakes:
    """Every provider fake, reached through one MockTransport routing on the request's host."""
    fakes = ProviderFakes()
    fakes.add("smartregion.test", FakeSmartRegion(api_key=SMARTREGION_SECRET["api_key"]))
    http_pool.reset(fakes.transport())
    return fakes


@pytest.fixture
def smartregion(providers: ProviderFakes) -> FakeSmartRegion:
    fake = providers.fakes["smartregion.test"]
    assert isinstance(fake, FakeSmartRegion)
    return fake


@pytest.fixture
def context() -> FakeLambdaContext:
    return FakeLambdaContext()


def table_items() -> list[dict[str, Any]]:
    """Test-only view of everything stored (a Scan is fine here, never in the product)."""
    return boto3.client("dynamodb").scan(TableName="chatbridge-test")["Items"]


def registration_items() -> list[dict[str, Any]]:
    return [i for i in table_items() if i["pk"]["S"].startswith("REG#")]
