"""API keys from the command line: create (the key is printed once), list (never the keys), revoke.

    python -m local.api_key create --name NAME --scope SCOPE [--scope ...] [--provider P[/CONN]] [--expires WHEN]
    python -m local.api_key list
    python -m local.api_key revoke KEY_ID

`make api-key`, `make api-keys` and `make api-key-revoke` run these. The table is reached through
the environment: TABLE_NAME (or --table) and AWS_ENDPOINT_URL_DYNAMODB for the local stack (the
DynamoDB endpoint `make dev` prints), real AWS credentials and region for a deployed stack (its
`TableName` output). The region: AWS_REGION or AWS_DEFAULT_REGION when set; else, against the
local stack (AWS_ENDPOINT_URL_DYNAMODB on this machine), the stack's own (eu-west-1, with dummy
credentials when none are set); else your profile's (`aws configure set region ...`); else it
stops and says how to set one. Only a key's SHA-256 is stored, so a printed key cannot be shown again. A
revoked key is refused by the API within 60 s (the authorizer's cache).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import MutableMapping, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from local.lambda_runtime import ensure_import_paths

RELATIVE = re.compile(r"^(\d{1,5})([dh])$")
# Hosts of the local stack's DynamoDB: this machine, or the docker bridge's gateway (make sam-stack).
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "172.17.0.1"}
NO_REGION = (
    "no AWS region: set AWS_REGION to the stack's region (e.g. `export AWS_REGION=eu-west-1`) or give your "
    "profile one (`aws configure set region eu-west-1`); against `make dev`, `. local/.dev-stack.env` sets "
    "what the local stack needs"
)


class NoRegionError(RuntimeError):
    pass


DYNAMODB_ENDPOINT = "AWS_ENDPOINT_URL_DYNAMODB"


def local_endpoint(environ: MutableMapping[str, str], variable: str = DYNAMODB_ENDPOINT) -> bool:
    """The service's endpoint variable names the local stack (DynamoDB Local or moto on this machine)."""
    endpoint = environ.get(variable) or environ.get("AWS_ENDPOINT_URL") or ""
    return bool(endpoint) and (urlsplit(endpoint).hostname or "") in LOCAL_HOSTS


def settle_region(
    environ: MutableMapping[str, str], profile_region: str | None, variable: str = DYNAMODB_ENDPOINT
) -> str:
    """Decide the region (and, locally, dummy credentials) and put it where botocore reads it.

    botocore reads AWS_DEFAULT_REGION, not AWS_REGION (which Lambda and the AWS CLI docs use): both
    are honoured here. `profile_region` is what the AWS profile says (None: nothing configured).
    """
    from local.seed import REGION as LOCAL_STACK_REGION

    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    local = local_endpoint(environ, variable)
    if not region and local:
        region = LOCAL_STACK_REGION
    if local and not (environ.get("AWS_ACCESS_KEY_ID") or environ.get("AWS_PROFILE")):
        # the local stack takes any credentials; without some botocore refuses to sign
        environ["AWS_ACCESS_KEY_ID"], environ["AWS_SECRET_ACCESS_KEY"] = "local", "local"
    region = region or profile_region
    if not region:
        raise NoRegionError(NO_REGION)
    environ["AWS_DEFAULT_REGION"] = region
    return region


def profile_region() -> str | None:
    import boto3

    region: str | None = boto3.session.Session().region_name
    return region


def parse_expiry(value: str, now: datetime) -> datetime:
    """`90d`, `12h`, `2027-06-30` (midnight UTC) or an ISO 8601 instant (`Z` or an offset)."""
    text = value.strip()
    relative = RELATIVE.match(text)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        return now + (timedelta(days=amount) if unit == "d" else timedelta(hours=amount))
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--expires: not 90d, 12h, a date or an ISO 8601 instant: {value!r}") from exc
    if parsed.tzinfo is None:
        if len(text) > len("2027-06-30"):
            raise argparse.ArgumentTypeError("--expires: give the instant's offset (Z or +02:00)")
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _parser() -> argparse.ArgumentParser:
    from chatbridge.access import SCOPES

    parser = argparse.ArgumentParser(description="Create, list and revoke Chatbridge API keys.")
    parser.add_argument("--table", default=os.environ.get("TABLE_NAME"), help="DynamoDB table (default: $TABLE_NAME)")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="issue a key and print it (once)")
    create.add_argument("--name", required=True, help="who the key is for, e.g. the bot's name")
    create.add_argument(
        "--scope",
        action="append",
        default=[],
        help=f"repeat for each scope: {', '.join(SCOPES)}, or <capability>:* (required)",
    )
    create.add_argument(
        "--provider", action="append", default=[], help="limit the key to a provider or provider/connection (repeat)"
    )
    create.add_argument("--expires", help="90d, 12h, 2027-06-30 or an ISO 8601 instant; default: never")
    commands.add_parser("list", help="every key: id, name, status, scopes, limits, expiry (never the key)")
    revoke = commands.add_parser("revoke", help="revoke a key by its id (as listed)")
    revoke.add_argument("key_id")
    return parser


def _split(values: Sequence[str]) -> list[str]:
    """`--scope "a b"` and `--scope a,b` work too (what `make api-key SCOPES="a b"` passes)."""
    return [part for value in values for part in re.split(r"[\s,]+", value) if part]


def _format_row(key: object) -> str:
    from chatbridge.models.api_keys import ApiKey

    assert isinstance(key, ApiKey)
    expires = key.expires_at.isoformat() if key.expires_at else "never"
    return "  ".join(
        [
            key.id,
            f"{key.name:<20}",
            f"{key.status:<7}",
            ",".join(key.scopes) or "-",
            ",".join(key.providers) or "all providers",
            f"expires {expires}",
        ]
    )


def main(argv: list[str] | None = None, now: datetime | None = None) -> int:
    ensure_import_paths([])
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.table:
        parser.error("give --table or set TABLE_NAME")
    os.environ["TABLE_NAME"] = args.table
    try:
        region = settle_region(os.environ, None if local_endpoint(os.environ) else profile_region())
    except NoRegionError as exc:
        print(exc, file=sys.stderr)
        return 2

    from chatbridge.clock import utc_now
    from chatbridge.errors import ChatbridgeError
    from chatbridge.logic import api_keys

    now = now or utc_now()
    try:
        if args.command == "create":
            scopes = _split(args.scope)
            if not scopes:
                parser.error("give at least one --scope (e.g. --scope registrations:read)")
            expires = parse_expiry(args.expires, now) if args.expires else None
            issued = api_keys.issue_api_key(
                args.name, scopes=scopes, providers=_split(args.provider), expires_at=expires, created_by="cli", now=now
            )
            print(f"API key '{issued.name}' (id {issued.id}) in table {args.table} ({region}):", file=sys.stderr)
            print(f"  {_format_row(issued)}", file=sys.stderr)
            print("The key is shown only now:", file=sys.stderr)
            print(issued.key)
        elif args.command == "list":
            rows = [_format_row(key) for key in api_keys.every_api_key(now=now)]
            print("\n".join(rows) if rows else f"no API keys in {args.table}")
        else:
            revoked = api_keys.revoke_api_key(args.key_id, now=now)
            print(_format_row(revoked))
            print(
                f"Revoked; the API refuses it within {api_keys.REVOCATION_BOUND_SECONDS} s.",
                file=sys.stderr,
            )
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    except ChatbridgeError as exc:
        print(exc.detail, file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as exc:
        print(f"could not reach the table {args.table} in {region}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
