"""Connections files: real provider accounts for `make dev`, and the secrets of a deploy (`make secrets`).

One JSON object, provider by provider, with the connection secrets as Secrets Manager holds them
(`<prefix>/<provider>/<connection>`) and the webhook tokens (`<prefix>/callbacks`):

    {
      "smartregion": {"default": {"api_key": "...", "project_id": "...", "channel_id": "..."}},
      "biway": {"default": {"api_key": "...", "base_url": "https://..."}, "shop-42": {...}},
      "callbacks": {"smartregion": "<token>", "biway": "<token>"}
    }

Each connection is checked against the provider's own secret model (`registry.connection_model`,
the model the handlers load the secret with), so a file that passes here is a secret the handlers
accept. Errors name the file, the provider, the connection and the field, never a value: the
values are credentials.

`make dev` reads `local/connections.json` (gitignored) when it exists: a provider named in it is
real (its connections replace the simulator's), the others stay simulated. `make secrets FILE=...`
(tools/secrets_from_file.py) creates or updates the same secrets in an AWS account.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from local.lambda_runtime import ensure_import_paths
from local.template import ROOT

DEFAULT_PATH = ROOT / "local" / "connections.json"
CALLBACKS = "callbacks"
# The webhook token is the callback route's only credential: long enough not to be guessed.
MIN_TOKEN_LENGTH = 16


class ConnectionsFileError(ValueError):
    """The file is missing, not JSON, or names an unknown provider or a connection with missing fields."""


@dataclass(frozen=True)
class Connections:
    """What a connections file holds, checked: secret values exactly as written in the file."""

    path: Path
    # provider -> connection -> the secret's JSON value
    secrets: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    callback_tokens: Mapping[str, str] = field(default_factory=dict)

    @property
    def providers(self) -> tuple[str, ...]:
        """The providers the file makes real."""
        return tuple(self.secrets)

    def secret_values(self, prefix: str) -> dict[str, dict[str, Any]]:
        """Secret name -> value, for every connection of the file (the callbacks secret excluded)."""
        return {
            f"{prefix}/{provider}/{connection}": dict(value)
            for provider, connections in self.secrets.items()
            for connection, value in connections.items()
        }


def _file_model() -> type[BaseModel]:
    ensure_import_paths([])
    from chatbridge.integrations import registry
    from chatbridge.models.fields import ConnectionName

    fields: dict[str, Any] = {}
    for name in registry.names():
        model: Any = registry.connection_model(name)
        fields[name] = (dict[ConnectionName, model] | None, None)  # type: ignore[valid-type]
    # a path segment of the callback URL: token_urlsafe's alphabet
    token: Any = (str | None, Field(default=None, min_length=MIN_TOKEN_LENGTH, pattern=r"^[A-Za-z0-9_-]+$"))
    tokens: Any = create_model(
        "CallbackTokensEntry",
        __config__=ConfigDict(extra="forbid"),
        **dict.fromkeys(registry.callback_providers(), token),
    )
    fields[CALLBACKS] = (tokens | None, None)
    return create_model("ConnectionsFile", __config__=ConfigDict(extra="forbid"), **fields)


def _describe(errors: list[Any], known: tuple[str, ...]) -> list[str]:
    """One line per problem: where, and what is wrong; never the value that was given."""
    lines = []
    for error in errors:
        location = [str(part) for part in error["loc"]]
        if error["type"] == "extra_forbidden" and len(location) == 1:
            lines.append(f"unknown provider '{location[0]}' (known: {', '.join(known)}, and '{CALLBACKS}')")
        elif error["type"] == "extra_forbidden" and location[0] == CALLBACKS:
            lines.append(f"{CALLBACKS}: '{location[1]}' sends no webhooks we read")
        elif location[0] == CALLBACKS and error["type"] in {"string_pattern_mismatch", "string_too_short"}:
            lines.append(
                f"{'/'.join(location)}: not a token: at least {MIN_TOKEN_LENGTH} of A-Z a-z 0-9 _ - "
                "(python3 -c 'import secrets; print(secrets.token_urlsafe(32))' makes one)"
            )
        elif location[-1] == "[key]":
            lines.append(f"{location[0]}: connection name '{location[1]}': {error['msg']}")
        elif error["type"] == "missing":
            lines.append(f"{'/'.join(location[:-1])}: missing field '{location[-1]}'")
        else:
            lines.append(f"{'/'.join(location)}: {error['msg']}")
    return lines


def parse(data: Any, path: Path) -> Connections:
    """Check a decoded connections file; ConnectionsFileError says everything that is wrong at once."""
    ensure_import_paths([])
    from chatbridge.integrations import registry

    if not isinstance(data, dict):
        raise ConnectionsFileError(f"{path}: must be a JSON object of provider -> connection -> secret")
    try:
        checked = _file_model().model_validate(data)
    except ValidationError as exc:
        problems = _describe(exc.errors(include_input=False, include_url=False), registry.names())
        raise ConnectionsFileError(f"{path}:\n  " + "\n  ".join(problems)) from None
    empty = [name for name in registry.names() if getattr(checked, name) == {}]
    if empty:
        raise ConnectionsFileError(f"{path}: {', '.join(empty)}: give at least one connection (e.g. 'default')")
    tokens = getattr(checked, CALLBACKS)
    return Connections(
        path=path,
        secrets={name: data[name] for name in registry.names() if getattr(checked, name) is not None},
        callback_tokens={k: v for k, v in (tokens.model_dump() if tokens else {}).items() if v is not None},
    )


def load(path: Path = DEFAULT_PATH) -> Connections:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConnectionsFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise ConnectionsFileError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # the position only: the line may hold a credential
        raise ConnectionsFileError(f"{path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    return parse(data, path)


def load_if_present(path: Path = DEFAULT_PATH) -> Connections | None:
    """`make dev`: the file when it exists (simulators only otherwise)."""
    return load(path) if path.exists() else None
