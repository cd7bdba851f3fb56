"""Connections files (local/connections.py): real accounts for make dev, and `make secrets`."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from chatbridge.integrations import registry
from local import connections, dev, seed
from local.connections import ConnectionsFileError
from tools import secrets_from_file

EXAMPLE = connections.DEFAULT_PATH.with_name("connections.example.json")
SECRET_VALUE = "s3cr3t-value-never-shown"
TOKEN = "t" * 32


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "connections.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def refusal(tmp_path: Path, data: Any) -> str:
    with pytest.raises(ConnectionsFileError) as refused:
        connections.load(write(tmp_path, data))
    message = str(refused.value)
    assert SECRET_VALUE not in message
    return message


def test_the_example_file_names_every_provider_with_the_fields_its_model_requires(tmp_path: Path) -> None:
    example = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    # Given the example with real-looking tokens in place of its instructions
    example["callbacks"] = dict.fromkeys(example["callbacks"], TOKEN)
    # When it is loaded, Then every provider is real and every callback provider has a token
    loaded = connections.load(write(tmp_path, example))
    assert set(loaded.providers) == set(registry.names())
    assert set(loaded.callback_tokens) == set(registry.callback_providers())
    assert "chatbridge/biway/shop-42" in loaded.secret_values("chatbridge")


def test_values_are_kept_exactly_as_written_for_the_secrets(tmp_path: Path) -> None:
    entry = {"api_key": SECRET_VALUE, "project_id": "p", "channel_id": "c", "note": "kept"}
    loaded = connections.load(write(tmp_path, {"smartregion": {"default": entry}}))
    assert loaded.secret_values("chatbridge") == {"chatbridge/smartregion/default": entry}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"telegram": {"default": {}}}, "unknown provider 'telegram'"),
        ({"biway": {"default": {"api_key": SECRET_VALUE}}}, "biway/default: missing field 'base_url'"),
        ({"imbee": {"default": {"auth": SECRET_VALUE, "base_url": "https://h"}}}, "missing field 'corporate_token'"),
        ({"watbot": {}}, "watbot: give at least one connection"),
        ({"watbot": {"my shop": {"api_token": SECRET_VALUE}}}, "watbot: connection name 'my shop'"),
        ({"smartregion": {"default": {"api_key": "", "project_id": "p", "channel_id": "c"}}}, "api_key"),
        ({"callbacks": {"smartregion": "short"}}, "callbacks/smartregion: not a token: at least 16"),
        ({"callbacks": {"biway": "has/slash" + "x" * 20}}, "callbacks/biway: not a token"),
        ({"callbacks": {"imbee": TOKEN}}, "callbacks: 'imbee' sends no webhooks we read"),
        ([], "must be a JSON object"),
    ],
)
def test_a_wrong_file_is_refused_naming_where_never_the_value(tmp_path: Path, data: Any, expected: str) -> None:
    assert expected in refusal(tmp_path, data)


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    message = refusal(tmp_path, {"telegram": {}, "biway": {"default": {"api_key": SECRET_VALUE}}})
    assert "telegram" in message and "base_url" in message


def test_a_file_that_is_not_json_is_refused_by_position_only(tmp_path: Path) -> None:
    path = tmp_path / "connections.json"
    path.write_text('{"watbot": {"default": {"api_token": "' + SECRET_VALUE + '"}}', encoding="utf-8")
    with pytest.raises(ConnectionsFileError, match=r"not JSON \(line 1, column \d+") as refused:
        connections.load(path)
    assert SECRET_VALUE not in str(refused.value)


def test_make_dev_runs_with_simulators_only_when_there_is_no_file(tmp_path: Path) -> None:
    assert connections.load_if_present(tmp_path / "absent.json") is None
    with pytest.raises(ConnectionsFileError, match="no such file"):
        connections.load(tmp_path / "absent.json")


def test_a_refused_file_stops_make_dev_with_its_message_before_anything_starts(tmp_path: Path) -> None:
    path = write(tmp_path, {"biway": {"default": {"api_key": SECRET_VALUE}}})
    before = signal.getsignal(signal.SIGTERM)
    # sockets are blocked in unit tests: reaching the stack would fail differently
    with pytest.raises(SystemExit) as stopped:
        dev.main(["--connections", str(path)])
    assert signal.getsignal(signal.SIGTERM) is before  # nothing was set up, not even signal handlers
    assert "connections file refused, nothing started" in str(stopped.value.code)
    assert "missing field 'base_url'" in str(stopped.value.code)


def test_a_real_provider_replaces_every_simulated_connection_of_its_own_only(tmp_path: Path) -> None:
    real = connections.load(
        write(tmp_path, {"watbot": {"shop": {"api_token": SECRET_VALUE}}, "callbacks": {"biway": TOKEN}})
    )
    base_urls = {name: f"http://127.0.0.1:1{n}" for n, name in enumerate(seed.PROVIDERS)}
    secrets = seed.connection_secrets(base_urls, {"smartregion": "a", "biway": "b"}, real)
    assert "chatbridge/watbot/default" not in secrets  # never a silent fallback to the simulator
    assert secrets["chatbridge/watbot/shop"] == {"api_token": SECRET_VALUE}
    assert secrets["chatbridge/smartregion/default"]["base_url"] == base_urls["smartregion"]
    assert secrets["chatbridge/callbacks"] == {"smartregion": "a", "biway": "b"}  # the stack merges the file's


# -- the banner ---------------------------------------------------------------------------------


def fake_stack(real: connections.Connections | None = None) -> Any:
    simulators = {name: SimpleNamespace(url=f"http://127.0.0.1:4{n}000") for n, name in enumerate(seed.PROVIDERS)}
    tokens = {"smartregion": "sr-local-token", "biway": "bw-local-token", **(real.callback_tokens if real else {})}
    api_url = "http://127.0.0.1:3999"
    return SimpleNamespace(
        host="127.0.0.1",
        seeded=False,
        api_url=api_url,
        dynamodb_backend="moto",
        dynamodb_endpoint="http://127.0.0.1:5000",
        table_name="chatbridge-local",
        secrets_endpoint="http://127.0.0.1:5000",
        simulators=SimpleNamespace(by_provider=lambda: simulators),
        connections=real,
        is_real=lambda name: real is not None and name in real.providers,
        api_key="cbk_demo",
        webhooks=None,
        metrics=False,
        callback_url=lambda name: f"{api_url}/v1/callbacks/{name}/{tokens[name]}",
    )


def test_the_banner_lists_all_five_providers_and_each_callback_with_a_sample_webhook() -> None:
    text = dev.banner(fake_stack())
    for name in registry.names():
        title = registry.integration(name).title
        assert re.search(rf"^  {re.escape(title)}\s+simulator at http://127.0.0.1:\d+", text, re.MULTILINE), title
    for name in registry.callback_providers():
        url = f"http://127.0.0.1:3999/v1/callbacks/{name}/{fake_stack().callback_url(name).rsplit('/', 1)[1]}"
        assert f"curl -s -X POST {url} -H 'Content-Type: application/json'" in text
    # the SmartRegion sample is about the user the banner's own curl registers
    assert '"user_id":"tg-100500","channel_id":"demo-channel","project_id":"demo-project"' in text
    assert "<id>" not in text and "REG_ID=$(" in text


def test_the_banner_says_which_providers_are_real_and_never_prints_the_files_tokens(tmp_path: Path) -> None:
    real = connections.load(
        write(
            tmp_path,
            {
                "biway": {"default": {"api_key": SECRET_VALUE, "base_url": "https://b"}},
                "callbacks": {"smartregion": TOKEN},
            },
        )
    )
    text = dev.banner(fake_stack(real))
    assert re.search(r"^  Bi-way\s+REAL account from .*connections\.json \(connections: default\)", text, re.MULTILINE)
    assert re.search(r"^  Smartico\s+simulator at", text, re.MULTILINE)
    assert "NOT given this 127.0.0.1 URL" in text
    assert TOKEN not in text and SECRET_VALUE not in text
    assert "/v1/callbacks/smartregion/$SMARTREGION_TOKEN" in text


# -- make secrets -------------------------------------------------------------------------------


def test_make_secrets_creates_then_updates_and_merges_the_tokens(aws: None, tmp_path: Path) -> None:
    client = boto3.client("secretsmanager")
    # another stack's prefix: the aws fixture already holds the chatbridge/ secrets
    client.create_secret(Name="acme/callbacks", SecretString=json.dumps({"smartregion": "kept-token"}))
    real = connections.load(
        write(
            tmp_path,
            {
                "biway": {"shop-9": {"api_key": SECRET_VALUE, "base_url": "https://b"}},
                "callbacks": {"biway": TOKEN},
            },
        )
    )
    # dry run: nothing written
    planned = secrets_from_file.apply(real, prefix="acme", client=client, dry_run=True)
    assert planned == ["would create acme/biway/shop-9", "would update acme/callbacks (tokens of biway)"]
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_secret_value(SecretId="acme/biway/shop-9")
    # first run creates, second updates
    assert secrets_from_file.apply(real, prefix="acme", client=client)[0] == "created acme/biway/shop-9"
    report = secrets_from_file.apply(real, prefix="acme", client=client)
    assert report[0] == "updated acme/biway/shop-9"
    assert all(SECRET_VALUE not in line and TOKEN not in line for line in report)
    stored = json.loads(client.get_secret_value(SecretId="acme/biway/shop-9")["SecretString"])
    assert stored == {"api_key": SECRET_VALUE, "base_url": "https://b"}
    tokens = json.loads(client.get_secret_value(SecretId="acme/callbacks")["SecretString"])
    assert tokens == {"smartregion": "kept-token", "biway": TOKEN}


def test_make_secrets_refuses_a_wrong_file_and_writes_nothing(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, {"biway": {"default": {"api_key": SECRET_VALUE}}})
    assert secrets_from_file.main(["--file", str(path), "--prefix", "acme"]) == 2
    assert "nothing written" in capsys.readouterr().err
    assert (
        boto3.client("secretsmanager").list_secrets(Filters=[{"Key": "name", "Values": ["acme/"]}])["SecretList"] == []
    )


def test_the_example_copied_unedited_says_how_to_make_the_tokens() -> None:
    with pytest.raises(ConnectionsFileError) as refused:
        connections.load(EXAMPLE)
    assert "callbacks/smartregion: not a token" in str(refused.value)
    assert "secrets.token_urlsafe(32)" in str(refused.value)
