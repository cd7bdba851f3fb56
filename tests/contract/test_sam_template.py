"""template.yaml against what `sam local invoke --env-vars env.json` needs, and what a deploy gets.

SAM passes a function only the variables the template declares for it (`--env-vars` overrides,
never adds), so the endpoints of a local stack must be declared; in a deploy they stay empty,
which botocore ignores.
"""

from __future__ import annotations

import re

import boto3
import pytest

from local.stack import LocalStack
from local.template import ROOT, load_template, resources

LAYER = ROOT / "layers" / "chatbridge" / "chatbridge"
# Clients the layer gets through Powertools rather than boto3.client(...): secrets (parameters)
# and the idempotency records (DynamoDB persistence layer).
POWERTOOLS_SERVICES = {"secretsmanager", "dynamodb"}


def global_variables() -> dict[str, object]:
    variables: dict[str, object] = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    return variables


def endpoint_variable(service: str) -> str:
    """botocore's name for a service's endpoint variable: its service id, spaces as underscores."""
    service_id = boto3.client(service, region_name="eu-west-1").meta.service_model.service_id
    return "AWS_ENDPOINT_URL_" + str(service_id).replace(" ", "_").upper()


def layer_services() -> set[str]:
    found = set(POWERTOOLS_SERVICES)
    for path in LAYER.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r"boto3\.client\(\s*\"([a-z0-9-]+)\"", text))
        if path.name == "aws.py":  # the layer's one client factory: _client("<service>")
            found |= set(re.findall(r"_client\(\s*\"([a-z0-9-]+)\"", text))
    return found


def test_every_service_the_layer_calls_has_an_empty_endpoint_variable_in_globals() -> None:
    services = layer_services()
    assert services >= {"dynamodb", "secretsmanager", "kms", "events"}
    declared = global_variables()
    for service in services:
        assert declared.get(endpoint_variable(service)) == "", service


def test_the_endpoint_variables_are_named_as_botocore_reads_them() -> None:
    endpoints = {name for name in global_variables() if name.startswith("AWS_ENDPOINT_URL_")}
    assert endpoints == {endpoint_variable(service) for service in layer_services()}
    # e.g. not AWS_ENDPOINT_URL_SECRETSMANAGER or AWS_ENDPOINT_URL_EVENTS, which botocore never reads
    assert "AWS_ENDPOINT_URL_SECRETS_MANAGER" in endpoints
    assert "AWS_ENDPOINT_URL_EVENTBRIDGE" in endpoints


@pytest.mark.parametrize("service", ["dynamodb", "secretsmanager", "kms", "events"])
def test_an_empty_endpoint_variable_leaves_the_real_aws_endpoint(monkeypatch: pytest.MonkeyPatch, service: str) -> None:
    monkeypatch.setenv(endpoint_variable(service), "")
    client = boto3.client(service, region_name="eu-west-1")
    assert client.meta.endpoint_url == f"https://{client.meta.service_model.endpoint_prefix}.eu-west-1.amazonaws.com"

    monkeypatch.setenv(endpoint_variable(service), "http://172.17.0.1:4566")
    assert boto3.client(service, region_name="eu-west-1").meta.endpoint_url == "http://172.17.0.1:4566"


def test_env_json_sets_only_variables_the_template_declares() -> None:
    """Anything else in env.json would be dropped by SAM without a word."""
    declared = set(global_variables())
    for function in resources("AWS::Serverless::Function").values():
        declared |= set((function["Properties"].get("Environment") or {}).get("Variables") or {})
    assert set(LocalStack().container_environment()) <= declared
