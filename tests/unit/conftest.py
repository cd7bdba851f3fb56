"""Unit tests: moto's mock_aws, httpx MockTransport, and no sockets at all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pytest_socket import disable_socket, enable_socket

from chatbridge.integrations.http import RetryPolicy, http_pool
from local.simulators.biway import BiwaySimulator
from local.simulators.imbee import ImbeeSimulator
from local.simulators.smartico import SmarticoSimulator
from local.simulators.smartregion import SmartRegionSimulator
from local.simulators.watbot import WatbotSimulator, seed_demo_contacts
from local.template import create_table
from tests.simulated import SimulatorFake
from tests.support import FakeLambdaContext, ProviderFakes

SMARTREGION_SECRET = {
    "api_key": "sr-test-key",
    "project_id": "proj-1",
    "channel_id": "chan-1",
    "base_url": "https://smartregion.test",
}
# Webhook tokens (`chatbridge/callbacks`); the events/callbacks files carry these in their paths.
CALLBACK_TOKENS = {"smartregion": "sr-callback-token-for-tests", "biway": "bw-callback-token-for-tests"}
# Secret name -> value, created in every mocked account. Each provider adds its connection here.
CONNECTION_SECRETS: dict[str, dict[str, Any]] = {
    "chatbridge/smartregion/default": SMARTREGION_SECRET,
    "chatbridge/callbacks": CALLBACK_TOKENS,
    "chatbridge/watbot/default": {"api_token": "wb-test-token", "base_url": "https://watbot.test"},
    "chatbridge/smartico/default": {"hostname": "aff.smartico.test", "base_url": "https://smartico.test"},
    "chatbridge/imbee/default": {
        "auth": "imbee-test-auth",
        "corporate_token": "imbee-test-corporate-token",
        "base_url": "https://imbee.test",
    },
    "chatbridge/biway/default": {"api_key": "biway-test-key", "base_url": "https://biway.test"},
}
# The KMS key sealing provider-issued credentials (template.yaml CredentialsKey), by alias.
CREDENTIALS_KEY_ALIAS = "alias/chatbridge-credentials-test"
# The KMS key sealing pagination tokens (template.yaml PageTokenKey), by alias.
PAGE_TOKEN_KEY_ALIAS = "alias/chatbridge-page-tokens-test"
# Webhooks to bots: the key sealing signing secrets, the delivery tasks queue, the events DLQ.
WEBHOOK_SECRETS_KEY_ALIAS = "alias/chatbridge-webhook-secrets-test"
# Names the unit tests resolve without DNS: what a subscription URL's host resolves to.
FAKE_DNS: dict[str, list[str]] = {
    "bot.example.com": ["93.184.215.14"],
    "bot2.example.com": ["93.184.215.15"],
    "bot.test": ["93.184.215.16"],
    "mixed.example.com": ["93.184.215.17", "10.0.0.7"],
    "intranet.example.com": ["10.1.2.3"],
    "metadata.example.com": ["169.254.169.254"],
    "localhost": ["127.0.0.1", "::1"],
}


def fake_resolve(host: str, port: int) -> list[str]:
    import ipaddress
    import socket

    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    if host not in FAKE_DNS:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return list(FAKE_DNS[host])


@pytest.fixture(autouse=True)
def _no_sockets() -> Iterator[None]:
    disable_socket()
    yield
    enable_socket()


@pytest.fixture(autouse=True)
def _no_dns() -> Iterator[None]:
    from chatbridge.webhooks import urls

    urls.set_resolver(fake_resolve)
    yield
    urls.set_resolver(None)


@pytest.fixture(autouse=True)
def _instant_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    from chatbridge.integrations.http import ProviderClient

    monkeypatch.setattr(ProviderClient, "retry_policy", RetryPolicy(sleep=lambda _: None))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A mocked account with the table of template.yaml, the connection secrets and the credentials key."""
    with mock_aws():
        create_table(boto3.client("dynamodb"), "chatbridge-test")
        secretsmanager = boto3.client("secretsmanager")
        for name, value in CONNECTION_SECRETS.items():
            secretsmanager.create_secret(Name=name, SecretString=json.dumps(value))
        kms = boto3.client("kms")
        kms.create_alias(AliasName=CREDENTIALS_KEY_ALIAS, TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
        monkeypatch.setenv("CREDENTIALS_KEY_ID", CREDENTIALS_KEY_ALIAS)
        kms.create_alias(AliasName=PAGE_TOKEN_KEY_ALIAS, TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
        monkeypatch.setenv("PAGE_TOKEN_KEY_ID", PAGE_TOKEN_KEY_ALIAS)
        kms.create_alias(AliasName=WEBHOOK_SECRETS_KEY_ALIAS, TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
        monkeypatch.setenv("WEBHOOK_SECRETS_KEY_ID", WEBHOOK_SECRETS_KEY_ALIAS)
        sqs = boto3.client("sqs")
        monkeypatch.setenv("WEBHOOK_DELIVERIES_QUEUE_URL", sqs.create_queue(QueueName="webhook-deliveries")["QueueUrl"])
        monkeypatch.setenv("EVENTS_DEAD_LETTER_QUEUE_URL", sqs.create_queue(QueueName="events-dlq")["QueueUrl"])
        yield


@pytest.fixture
def providers(aws: None, monkeypatch: pytest.MonkeyPatch) -> ProviderFakes:
    """Every provider fake, reached through one MockTransport routing on the request's host."""
    fakes = ProviderFakes()
    project = {"api_key": SMARTREGION_SECRET["api_key"], "channels": ["chan-1", "chan-2"]}
    fakes.add("smartregion.test", SimulatorFake(SmartRegionSimulator({SMARTREGION_SECRET["project_id"]: project})))
    # Rate limits are tested on their own (test_ratelimit.py); here they would only slow tests down.
    monkeypatch.setenv("RATE_LIMIT_WATBOT", "0")
    watbot = WatbotSimulator({"wb-test-token"}, rate_limit=None)
    seed_demo_contacts(watbot)  # contacts 1, 2 and 3, which events/contacts/ name
    fakes.add("watbot.test", SimulatorFake(watbot))
    fakes.add("smartico.test", SimulatorFake(SmarticoSimulator(["aff.smartico.test"])))
    fakes.add("imbee.test", SimulatorFake(ImbeeSimulator("imbee-test-auth", "imbee-test-corporate-token")))
    # `take_callbacks()` hands over what the served simulator would post to the callback URL
    fakes.add("biway.test", SimulatorFake(BiwaySimulator({"biway-test-key": frozenset({"partner", "user"})})))
    http_pool.reset(fakes.transport())
    return fakes


def fake_of(providers: ProviderFakes, provider: str) -> SimulatorFake:
    fake = providers.fakes[f"{provider}.test"]
    assert isinstance(fake, SimulatorFake)
    return fake


@pytest.fixture
def smartregion(providers: ProviderFakes) -> SimulatorFake:
    return fake_of(providers, "smartregion")


@pytest.fixture
def smartico(providers: ProviderFakes) -> SimulatorFake:
    return fake_of(providers, "smartico")


@pytest.fixture
def imbee(providers: ProviderFakes) -> SimulatorFake:
    return fake_of(providers, "imbee")


@pytest.fixture
def biway(providers: ProviderFakes) -> SimulatorFake:
    return fake_of(providers, "biway")


@pytest.fixture
def watbot(providers: ProviderFakes) -> SimulatorFake:
    return fake_of(providers, "watbot")


@pytest.fixture
def context() -> FakeLambdaContext:
    return FakeLambdaContext()


def table_items() -> list[dict[str, Any]]:
    """Test-only view of everything stored (a Scan is fine here, never in the product)."""
    return boto3.client("dynamodb").scan(TableName="chatbridge-test")["Items"]


def registration_items() -> list[dict[str, Any]]:
    return [i for i in table_items() if i["pk"]["S"].startswith("REG#")]
