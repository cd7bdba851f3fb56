"""Register Chatbridge's callback URL with Bi-way (`POST /system/callback`), once per connection.

Bi-way sends state changes (companies, accounts, agents, testers) and message reports to the URL
an account registered: the partner account for its sub-accounts' events, each user account for its
own. Run this after a deploy, for each Bi-way connection, with the stack's `ApiUrl` output:

    python -m tools.biway_callback --api-url https://abc123.execute-api.eu-west-1.amazonaws.com
    python -m tools.biway_callback --api-url ... --connection shop-42

It reads the webhook token from `<prefix>/callbacks` (key "biway") and the connection from
`<prefix>/biway/<connection>` with your AWS credentials, and registers
`<ApiUrl>/v1/callbacks/biway/<token>`. Registering again replaces the URL (e.g. after rotating the
token). The local stack (`make dev`) calls `register` on start, against the Bi-way simulator.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from chatbridge.errors import ChatbridgeError
from chatbridge.integrations.biway.callback_url import register_callback_url
from chatbridge.integrations.biway.client import PROVIDER, BiwayAnswer, BiwayConnection
from chatbridge.observability import metrics

CALLBACK_TOKENS_NAME = "callbacks"


def _secret(client: Any, name: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(client.get_secret_value(SecretId=name)["SecretString"])
    return value


def register(
    api_url: str, *, connection: str = "default", secrets_prefix: str = "chatbridge", secretsmanager: Any = None
) -> BiwayAnswer:
    """Register `<api_url>/v1/callbacks/biway/<token>` for one Bi-way connection; Bi-way's answer."""
    if secretsmanager is None:
        import boto3

        secretsmanager = boto3.client("secretsmanager")
    token = _secret(secretsmanager, f"{secrets_prefix}/{CALLBACK_TOKENS_NAME}").get(PROVIDER)
    if not token:
        raise SystemExit(f'{secrets_prefix}/{CALLBACK_TOKENS_NAME} has no "{PROVIDER}" token')
    biway = BiwayConnection.model_validate(_secret(secretsmanager, f"{secrets_prefix}/{PROVIDER}/{connection}"))
    try:
        return register_callback_url(biway, api_url, str(token))
    finally:
        # Outside Lambda no handler flushes the call's metrics: dropped, so they cannot leak into
        # the next invocation served by this process (the local stack's).
        metrics.clear_metrics()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Register Chatbridge's callback URL with Bi-way (POST /system/callback)"
    )
    parser.add_argument("--api-url", required=True, help="the stack's ApiUrl output")
    parser.add_argument("--connection", default="default", help="Bi-way connection (secret <prefix>/biway/<name>)")
    parser.add_argument("--secrets-prefix", default="chatbridge", help="the stack's SecretsPrefix parameter")
    args = parser.parse_args(argv)
    from local.api_key import NoRegionError, local_endpoint, profile_region, settle_region

    try:
        # AWS_REGION or AWS_DEFAULT_REGION, else the profile's; botocore alone reads only the latter
        local = local_endpoint(os.environ, "AWS_ENDPOINT_URL_SECRETS_MANAGER")
        settle_region(os.environ, None if local else profile_region(), "AWS_ENDPOINT_URL_SECRETS_MANAGER")
    except NoRegionError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        answer = register(args.api_url, connection=args.connection, secrets_prefix=args.secrets_prefix)
    except ChatbridgeError as exc:
        print(f"Bi-way refused: {exc.title}: {exc.detail}", file=sys.stderr)
        return 1
    # The URL carries the webhook token: it is not printed.
    print(
        f"Registered {args.api_url.rstrip('/')}/v1/callbacks/biway/<token> for connection "
        f"'{args.connection}' (Bi-way answered {answer.status_code})."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
