"""`python -m local.api_key --name NAME [--table T]`: issue an API key and print it once.

The table is reached through the environment: AWS_ENDPOINT_URL_DYNAMODB for the local stack (the
DynamoDB endpoint `make dev` prints), real AWS credentials and region otherwise. Only the key's
SHA-256 is stored, so the printed key cannot be shown again.
"""

from __future__ import annotations

import argparse
import os
import sys

from botocore.exceptions import BotoCoreError, ClientError

from local.lambda_runtime import ensure_import_paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Issue a Chatbridge API key (printed once).")
    parser.add_argument("--name", required=True, help="who the key is for, e.g. the bot's name")
    parser.add_argument("--table", default=os.environ.get("TABLE_NAME"), help="DynamoDB table (default: $TABLE_NAME)")
    args = parser.parse_args(argv)
    if not args.table:
        parser.error("give --table or set TABLE_NAME")
    if not args.name.strip():
        parser.error("--name must not be empty")
    os.environ["TABLE_NAME"] = args.table

    ensure_import_paths([])
    from chatbridge.logic.api_keys import issue_api_key

    try:
        issued = issue_api_key(args.name.strip())
    except (BotoCoreError, ClientError) as exc:
        print(f"could not store the key in {args.table}: {exc}", file=sys.stderr)
        return 1
    print(f"API key '{issued.name}' (id {issued.key_id}) in table {args.table}. It is shown only now:", file=sys.stderr)
    print(issued.key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
