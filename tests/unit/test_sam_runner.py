"""The pieces of `make sam-local` that need no Docker: answers, the report, env.json, addresses."""

from __future__ import annotations

import re
from pathlib import Path

from local.sam import docker_host
from local.sam.environment import env_json, sam_cli_environment
from local.sam.runner import Report, parse_answer


def test_the_answer_is_the_json_sam_prints_on_stdout() -> None:
    assert parse_answer('{"statusCode": 201, "body": "{}"}') == {"statusCode": 201, "body": "{}"}
    # a function error is an answer too, and a stray line before it does not hide it
    assert parse_answer('noise\n{"errorMessage": "Unable to import module"}\n') == {
        "errorMessage": "Unable to import module"
    }
    assert parse_answer("") is None
    assert parse_answer("Error: Running AWS SAM projects locally requires a container runtime.") is None


def test_the_report_closes_with_the_plain_counts_line(capsys) -> None:  # type: ignore[no-untyped-def]
    report = Report()
    report.record("meta/health.json [MetaFunction]", "", "200", 4.2)
    report.record("meta/docs.json [MetaFunction]", "expected status 200, got 502", "502", 4.0)

    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        "PASS meta/health.json [MetaFunction]: 200 (4.2 s)",
        "FAIL meta/docs.json [MetaFunction]: expected status 200, got 502 (4.0 s)",
    ]
    assert re.fullmatch(r"\d+ passed, \d+ failed", report.summary())
    assert report.summary() == "1 passed, 1 failed"
    assert report.failures == ["meta/docs.json [MetaFunction]"]


def test_env_json_gives_every_function_the_stack_s_parameters() -> None:
    assert env_json({"TABLE_NAME": "t", "AWS_ENDPOINT_URL_KMS": "http://172.17.0.1:1"}) == {
        "Parameters": {"AWS_ENDPOINT_URL_KMS": "http://172.17.0.1:1", "TABLE_NAME": "t"}
    }


def test_the_sam_cli_runs_with_local_credentials_and_the_local_sts_only() -> None:
    caller = {
        "PATH": "/usr/bin",
        "PYENV_VERSION": "3.11.7:3.13.0",
        "AWS_PROFILE": "prod",
        "AWS_SESSION_TOKEN": "secret",
        "AWS_ENDPOINT_URL_DYNAMODB": "http://elsewhere",
    }
    env = sam_cli_environment("http://172.17.0.1:5000", caller)

    assert env["PATH"] == "/usr/bin" and env["PYENV_VERSION"] == "3.11.7:3.13.0"
    assert "AWS_PROFILE" not in env and "AWS_SESSION_TOKEN" not in env and "AWS_ENDPOINT_URL_DYNAMODB" not in env
    assert env["AWS_ENDPOINT_URL_STS"] == "http://172.17.0.1:5000"
    assert env["AWS_ACCESS_KEY_ID"] == "local" and env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["SAM_CLI_TELEMETRY"] == "0"


def test_the_bridge_gateway_comes_from_ipam_or_from_the_bridge_interface() -> None:
    assert docker_host.gateway_of([{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]) == "172.17.0.1"
    assert docker_host.gateway_of([{"Subnet": "fd00::/64", "Gateway": "fd00::1"}]) == ""
    assert docker_host.gateway_of([{"Subnet": "172.17.0.0/16"}]) == ""  # the default bridge, often
    shown = "5: docker0    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0\\       valid_lft forever"
    assert docker_host.interface_address(shown) == "172.17.0.1"
    assert docker_host.interface_address("") == ""


def test_only_containers_mounting_our_build_are_ours(tmp_path: Path) -> None:
    build = tmp_path / "wt" / ".aws-sam" / "build"
    containers = [
        {"Id": "ours", "Mounts": [{"Source": str(build / "MetaFunction"), "Destination": "/var/task"}]},
        {"Id": "other-worktree", "Mounts": [{"Source": str(tmp_path / "other" / ".aws-sam" / "build" / "X")}]},
        {"Id": "prefix-only", "Mounts": [{"Source": str(build) + "-old/MetaFunction"}]},
        {"Id": "no-mounts", "Mounts": None},
    ]
    assert docker_host.containers_mounting(containers, build) == ["ours"]
