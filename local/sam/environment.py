"""env.json for `sam local invoke/start-api --env-vars`, and the environment of the SAM CLI itself.

env.json's `Parameters` apply to every function that declares the variable (template.yaml's
Globals declare the endpoints, empty by default); values are the stack's addresses as a container
sees them. The SAM CLI process needs its own settings: dummy credentials and a region (passed on
to the containers), and `AWS_ENDPOINT_URL_STS` at the local moto server, because SAM asks STS for
the account id before every invoke and, offline, retries for about 8 s before giving up.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local.seed import REGION
from local.template import ROOT

ENV_FILE = ROOT / "env.json"  # written by `python -m local.dev --bind docker` (gitignored)
# From the caller's shell these would mix real credentials or another account into local calls.
DROPPED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


def env_json(parameters: Mapping[str, str]) -> dict[str, Any]:
    return {"Parameters": dict(sorted(parameters.items()))}


def write_env_json(parameters: Mapping[str, str], path: Path = ENV_FILE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(env_json(parameters), indent=2) + "\n", encoding="utf-8")
    return path


def sam_cli_environment(sts_endpoint: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """What `sam local ...` runs with: the caller's environment without AWS settings, plus ours."""
    source = dict(os.environ if base is None else base)
    kept = {k: v for k, v in source.items() if not (k.startswith("AWS_") or k in DROPPED)}
    return {
        **kept,
        "SAM_CLI_TELEMETRY": "0",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL_STS": sts_endpoint,
    }


def shell_exports(sts_endpoint: str) -> str:
    """The same settings for a person's shell, before running `sam local invoke` by hand."""
    return (
        "export SAM_CLI_TELEMETRY=0 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local "
        f"AWS_DEFAULT_REGION={REGION} AWS_ENDPOINT_URL_STS={sts_endpoint}"
    )
