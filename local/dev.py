"""`python -m local.dev` (make dev): the local stack in the foreground until Ctrl-C.

Real provider accounts: `local/connections.json` when it exists (or `--connections FILE`), checked
before anything starts (local/connections.py); the providers it names replace their simulators.
The banner says where everything runs, which providers are real, each provider's callback URL with
a curl that plays its webhook, and the first API calls; `local/.demo-api-key` and
`local/.dev-stack.env` (table, endpoints, callback URLs) serve the README's commands.

`--seeded` uses the fixtures of local/seed.py (the API key and webhook tokens events/ carries);
`--bind docker` puts the backends and simulators on the docker bridge's gateway, where Lambda
containers reach them, and writes env.json for `sam local invoke --env-vars env.json` (make sam-stack).
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from local.connections import DEFAULT_PATH as DEFAULT_CONNECTIONS
from local.connections import ConnectionsFileError, load, load_if_present
from local.ports import LOOPBACK
from local.simulators.smartregion import DEMO_CHANNEL, DEMO_PROJECT
from local.stack import DEV_METRICS_ENV, LocalStack
from local.template import ROOT

# Read by the README's curl examples as $(cat local/.demo-api-key); gitignored.
KEY_FILE = ROOT / "local" / ".demo-api-key"
KEY_FILE_REF = "$(cat local/.demo-api-key)"
# Reads the "id" of a JSON answer on stdin (python3 is always there; jq may not be).
PRINT_ID = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"id\"])'"


# `. local/.dev-stack.env` points `make api-key` (and boto3, the AWS CLI) at the running stack's table.
STACK_ENV_FILE = ROOT / "local" / ".dev-stack.env"


def write_key_file(key: str, path: Path = KEY_FILE) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(key + "\n", encoding="utf-8")


def stack_environment(stack: LocalStack) -> dict[str, str]:
    """What a shell needs to use the stack: its table (endpoint, region, dummy credentials), its
    Secrets Manager, and each provider's callback URL (`<PROVIDER>_CALLBACK_URL`, token included)."""
    from chatbridge.integrations import registry
    from local.seed import REGION

    return {
        "TABLE_NAME": stack.table_name,
        "AWS_ENDPOINT_URL_DYNAMODB": stack.dynamodb_endpoint,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": stack.secrets_endpoint,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        **{f"{name.upper()}_CALLBACK_URL": stack.callback_url(name) for name in registry.callback_providers()},
    }


def write_stack_env_file(stack: LocalStack, path: Path = STACK_ENV_FILE) -> None:
    lines = [f"export {name}={shlex.quote(value)}" for name, value in stack_environment(stack).items()]
    path.touch(mode=0o600, exist_ok=True)  # callback tokens: readable by this user only
    path.write_text("# written by make dev, removed when it stops\n" + "\n".join(lines) + "\n", encoding="utf-8")


def curl_examples(api_url: str) -> list[str]:
    """Each command sets what the next one reads, so the lines run as pasted, in order."""
    key = '-H "x-api-key: $KEY"'
    body = '{"provider":"smartregion","user_id":"tg-100500","payload":"PAYLOAD123","user_field":{"name":"Ivan"}}'
    return [
        f"API={api_url}; KEY={KEY_FILE_REF}",
        "# 1. liveness (no key needed)",
        "curl -s $API/v1/health",
        "# 2. register a user at SmartRegion (201; 200 when registered again); keep its id",
        f"REG_ID=$(curl -s -X POST $API/v1/registrations {key} \\",
        '  -H "Content-Type: application/json" -H "Idempotency-Key: demo-registration-1" \\',
        f"  -d '{body}' | {PRINT_ID})",
        "# 3. read it back: by its id, or by provider and user",
        f"curl -s $API/v1/registrations/$REG_ID {key}",
        f'curl -s "$API/v1/registrations?provider=smartregion&user_id=tg-100500" {key}',
    ]


def provider_lines(stack: LocalStack) -> list[str]:
    """One line per provider: the simulator playing it, or the real account of the connections file."""
    from chatbridge.integrations import registry

    details = {
        "smartregion": f"project {DEMO_PROJECT}, channel {DEMO_CHANNEL}",
        "watbot": "contacts 1, 2 and 3",
        "biway": "state changes and delivery reports a second later",
    }
    lines = []
    for name in registry.names():
        title = registry.integration(name).title
        if stack.connections is not None and stack.is_real(name):
            connections = ", ".join(stack.connections.secrets[name])
            source = _relative(stack.connections.path)
            lines.append(f"  {title:<12} REAL account from {source} (connections: {connections})")
        else:
            simulator = stack.simulators.by_provider()[name]
            detail = f"   {details[name]}" if name in details else ""
            lines.append(f"  {title:<12} simulator at {simulator.url}{detail}")
    return lines


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def sample_webhook(provider: str) -> dict[str, Any]:
    """The provider's documented callback example, about the user curl example 2 registers."""
    from chatbridge.integrations import registry

    example: dict[str, Any] = dict(registry.integration(provider).module("webhooks").CALLBACK_EXAMPLE)
    if provider == "smartregion":
        # presence of the registered user (tg-100500 in the demo project and channel): applied to it
        example.update({"user_id": "tg-100500", "project_id": DEMO_PROJECT, "channel_id": DEMO_CHANNEL})
    return example


def webhook_callback_lines(stack: LocalStack) -> list[str]:
    """Each provider's callback URL with its token, and a curl that plays the provider."""
    from chatbridge.integrations import registry

    lines = [
        "",
        "Provider webhooks: the URL each provider is given (the token is its credential), and a curl that",
        "sends the provider's sample webhook (200 {id, duplicate, recognised}; then GET /v1/events):",
    ]
    for name in registry.callback_providers():
        title = registry.integration(name).title
        from_file = stack.connections is not None and name in stack.connections.callback_tokens
        if from_file:
            # the operator's own token (maybe a deployed stack's too): read from the file, not printed
            assert stack.connections is not None
            token_ref = f"${_token_variable(name)}"
            lines.append(f"  {title:<12} {stack.api_url}/v1/callbacks/{name}/{token_ref}")
            lines.append(
                f"    {_token_variable(name)}=$(python3 -c 'import json; "
                f'print(json.load(open("{_relative(stack.connections.path)}"))["callbacks"]["{name}"])\')'
            )
            url = f"{stack.api_url}/v1/callbacks/{name}/{token_ref}"
        else:
            url = stack.callback_url(name)
            lines.append(f"  {title:<12} {url}")
        body = json.dumps(sample_webhook(name), ensure_ascii=False, separators=(",", ":"))
        lines.append(f"    curl -s -X POST {url} -H 'Content-Type: application/json' \\")
        lines.append(f"      -d '{body}'")
    if stack.is_real("biway"):
        lines.append(
            "  Bi-way is real: it was NOT given this 127.0.0.1 URL (it cannot reach it, and registering it would"
        )
        lines.append("  replace a deployed stack's); its reports go to the URL registered with `make biway-callback`.")
    return lines


def _token_variable(provider: str) -> str:
    return f"{provider.upper()}_TOKEN"


def sam_lines(stack: LocalStack, env_file: Path) -> list[str]:
    from local.sam.environment import shell_exports

    return [
        "",
        f"Lambda containers reach the backends on {stack.host}; env.json is {env_file}. In another shell:",
        f"  {shell_exports(stack.secrets_endpoint)}",
        "  .venv-sam/bin/sam build   # once (PYENV_VERSION must offer python3.13: see the Makefile's SAM_ENV)",
        "  .venv-sam/bin/sam local invoke RegistrationsFunction -e events/registrations/post_smartregion.json \\",
        "      --env-vars env.json --skip-pull-image",
    ]


def banner(stack: LocalStack) -> str:
    where = "everything on 127.0.0.1" if stack.host == LOOPBACK else f"API on 127.0.0.1, the rest on {stack.host}"
    port_note = "CHATBRIDGE_PORT" if os.environ.get("CHATBRIDGE_PORT") else "CHATBRIDGE_PORT to change it"
    lines = [
        f"Chatbridge local stack ({where}{', seeded' if stack.seeded else ''})",
        f"  API          {stack.api_url}   template.yaml routes, real handlers ({port_note})",
        f"  DynamoDB     {stack.dynamodb_backend} at {stack.dynamodb_endpoint}   table {stack.table_name}",
        "               (`. local/.dev-stack.env` points make api-key and the AWS CLI at it)",
        f"  Secrets      moto at {stack.secrets_endpoint}",
        *provider_lines(stack),
        f"  Demo API key {stack.api_key}   (also in local/.demo-api-key; every scope)",
        *webhook_lines(stack),
        f"  Metrics      {'CloudWatch EMF on stdout' if stack.metrics else f'off ({DEV_METRICS_ENV}=1 prints them)'}",
        "",
        "From the repository root:",
        *(f"  {line}" for line in curl_examples(stack.api_url)),
        *webhook_callback_lines(stack),
        "",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def webhook_lines(stack: LocalStack) -> list[str]:
    if stack.webhooks is None:
        return []
    return [
        f"  Sample bot   {stack.webhooks.bot.url}   subscribed to every event (local/bot_receiver.py): it verifies",
        "               each signature and prints what it gets; the attempt log:",
        f'               curl -s $API/v1/webhooks/{stack.webhooks.webhook_id}/deliveries -H "x-api-key: $KEY"',
    ]


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)  # unwinds into main()'s finally, like Ctrl-C


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="The local stack in the foreground until Ctrl-C")
    parser.add_argument("--seeded", action="store_true", help="the known key and tokens of local/seed.py")
    parser.add_argument(
        "--bind",
        choices=("loopback", "docker"),
        default="loopback",
        help="docker: backends and simulators on the docker bridge's gateway, and env.json for sam local",
    )
    parser.add_argument(
        "--connections",
        type=Path,
        default=None,
        help=f"real provider accounts replacing simulators (default: {_relative(DEFAULT_CONNECTIONS)} if it exists)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # First: a refused file stops us before anything (logging, signal handlers, the stack) is set up.
    try:
        connections = load(args.connections) if args.connections else load_if_present(DEFAULT_CONNECTIONS)
    except ConnectionsFileError as exc:
        sys.exit(f"connections file refused, nothing started:\n{exc}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)  # "Found credentials..." on every new client
    # A shell starting us in the background (make dev &) leaves SIGINT ignored; Ctrl-C must still stop us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    daemon, host = None, LOOPBACK
    if args.bind == "docker":
        from local.sam.docker_host import bridge_gateway, ensure_daemon

        daemon = ensure_daemon(ROOT / ".aws-sam" / "dockerd.log")  # stopped on exit if started here
        host = bridge_gateway()
    stack = LocalStack(
        seeded=args.seeded, host=host, bot_echo=lambda line: print(line, flush=True), connections=connections
    )
    env_file: Path | None = None
    try:
        try:
            stack.start()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            sys.exit(f"port {stack.api_port} is in use: stop what holds it or set CHATBRIDGE_PORT")
        write_key_file(stack.api_key)
        write_stack_env_file(stack)
        text = banner(stack)
        if args.bind == "docker":
            from local.sam.environment import write_env_json

            env_file = write_env_json(stack.container_environment())
            text += "\n" + "\n".join(sam_lines(stack, env_file))
        print(text, flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping the local stack...", file=sys.stderr, flush=True)
        stack.stop()
        KEY_FILE.unlink(missing_ok=True)  # the key died with the in-memory table
        STACK_ENV_FILE.unlink(missing_ok=True)  # and so did the table
        if env_file is not None:
            env_file.unlink(missing_ok=True)  # its addresses died with the stack
        if daemon is not None:
            daemon.stop()


if __name__ == "__main__":
    main()
