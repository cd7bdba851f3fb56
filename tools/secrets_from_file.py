"""Create or update every secret a connections file describes, in the AWS account (`make secrets FILE=...`).

    python -m tools.secrets_from_file --file connections.json [--prefix chatbridge] [--dry-run]

The file is the one `make dev` reads (local/connections.py): provider -> connection -> secret, and
`callbacks` (the webhook tokens). Each connection becomes `<prefix>/<provider>/<connection>`,
created or, when it exists, given the file's value as a new version; the tokens are merged into
`<prefix>/callbacks` (a provider the file does not name keeps its token). The file is checked
whole before anything is written. Only secret names are printed, never a value. AWS credentials
and region from your profile or environment (AWS_REGION); `--prefix` is the stack's SecretsPrefix.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from local.api_key import NoRegionError, local_endpoint, profile_region, settle_region
from local.connections import CALLBACKS, Connections, ConnectionsFileError, load
from local.lambda_runtime import ensure_import_paths

# botocore's variable for Secrets Manager's endpoint (the local stack's moto: `make dev` prints it)
SECRETS_ENDPOINT = "AWS_ENDPOINT_URL_SECRETS_MANAGER"


def planned_secrets(connections: Connections, prefix: str) -> dict[str, dict[str, Any]]:
    """Secret name -> value for the connections (the callbacks secret is merged separately)."""
    return connections.secret_values(prefix)


def _existing(client: Any, name: str) -> dict[str, Any] | None:
    try:
        value: dict[str, Any] = json.loads(client.get_secret_value(SecretId=name)["SecretString"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise
    return value


def _write(client: Any, name: str, value: Mapping[str, Any], exists: bool) -> str:
    text = json.dumps(value)
    if exists:
        client.put_secret_value(SecretId=name, SecretString=text)
        return "updated"
    client.create_secret(Name=name, SecretString=text, Description="Chatbridge (tools/secrets_from_file.py)")
    return "created"


def apply(connections: Connections, *, prefix: str, client: Any, dry_run: bool = False) -> list[str]:
    """Write the secrets; one line per secret (`created <name>`, `updated <name>`, `would create ...`)."""
    report = []
    for name, value in planned_secrets(connections, prefix).items():
        exists = _existing(client, name) is not None
        if dry_run:
            report.append(f"would {'update' if exists else 'create'} {name}")
        else:
            report.append(f"{_write(client, name, value, exists)} {name}")
    if connections.callback_tokens:
        name = f"{prefix}/{CALLBACKS}"
        current = _existing(client, name)
        merged = {**(current or {}), **connections.callback_tokens}
        providers = ", ".join(sorted(connections.callback_tokens))
        if dry_run:
            report.append(f"would {'update' if current is not None else 'create'} {name} (tokens of {providers})")
        else:
            report.append(f"{_write(client, name, merged, current is not None)} {name} (tokens of {providers})")
    return report


def missing_tokens(connections: Connections) -> list[str]:
    """Providers that send webhooks and have no token in the file (their callbacks would be a 401)."""
    ensure_import_paths([])
    from chatbridge.integrations import registry

    return [name for name in registry.callback_providers() if name not in connections.callback_tokens]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Create or update the secrets of a connections file")
    parser.add_argument("--file", type=Path, required=True, help="a connections file (local/connections.example.json)")
    parser.add_argument("--prefix", default="chatbridge", help="the stack's SecretsPrefix parameter")
    parser.add_argument("--dry-run", action="store_true", help="say what would be created or updated; write nothing")
    args = parser.parse_args(argv)
    try:
        connections = load(args.file)
    except ConnectionsFileError as exc:
        print(f"nothing written:\n{exc}", file=sys.stderr)
        return 2
    try:
        local = local_endpoint(os.environ, SECRETS_ENDPOINT)
        region = settle_region(os.environ, None if local else profile_region(), SECRETS_ENDPOINT)
    except NoRegionError as exc:
        print(exc, file=sys.stderr)
        return 2
    import boto3

    client = boto3.client("secretsmanager", region_name=region)
    try:
        for line in apply(connections, prefix=args.prefix, client=client, dry_run=args.dry_run):
            print(f"{line}  ({region})")
    except (BotoCoreError, ClientError) as exc:
        print(f"Secrets Manager in {region} refused or could not be reached: {exc}", file=sys.stderr)
        return 1
    for provider in missing_tokens(connections):
        print(
            f"note: no '{provider}' token under '{CALLBACKS}': unless {args.prefix}/{CALLBACKS} already has one, "
            f"{provider}'s webhooks are refused (401)",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
