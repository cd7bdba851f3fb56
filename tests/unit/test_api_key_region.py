"""`make api-key` (local/api_key.py) without a region in the environment: a default, or a clear stop."""

from __future__ import annotations

import pytest

from local import api_key as cli
from local.api_key import NoRegionError, settle_region


def test_an_explicit_region_wins_and_reaches_the_variable_botocore_reads() -> None:
    environ = {"AWS_REGION": "ap-southeast-2", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}
    assert settle_region(environ, profile_region="us-east-1") == "ap-southeast-2"
    assert environ["AWS_DEFAULT_REGION"] == "ap-southeast-2"


def test_the_local_stack_gets_its_own_region_and_dummy_credentials() -> None:
    environ = {"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:43125"}
    assert settle_region(environ, profile_region=None) == "eu-west-1"
    assert environ["AWS_ACCESS_KEY_ID"] == "local"


def test_a_deployed_table_takes_the_profiles_region_and_keeps_the_credentials() -> None:
    environ: dict[str, str] = {}
    assert settle_region(environ, profile_region="eu-central-1") == "eu-central-1"
    assert "AWS_ACCESS_KEY_ID" not in environ


def test_a_remote_endpoint_is_not_mistaken_for_the_local_stack() -> None:
    with pytest.raises(NoRegionError, match="AWS_REGION"):
        settle_region({"AWS_ENDPOINT_URL_DYNAMODB": "https://dynamodb.example.com"}, profile_region=None)


def test_without_any_region_the_cli_says_how_to_set_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cli, "profile_region", lambda: None)
    monkeypatch.setenv("TABLE_NAME", "chatbridge-prod")  # main() sets it; restored after the test
    assert cli.main(["list"]) == 2
    said = capsys.readouterr().err
    assert "no AWS region" in said and "export AWS_REGION=" in said
    assert "You must specify a region" not in said
