"""`python -m local.dev` (make dev): the local stack in the foreground until Ctrl-C.

`--seeded` uses the fixtures of local/seed.py (the API key and webhook tokens events/ carries);
`--bind docker` puts the backends and simulators on the docker bridge's gateway, where Lambda
containers reach them, and writes env.json for `sam local invoke --env-vars env.json` (make sam-stack).
"""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from local.ports import LOOPBACK
from local.simulators.smartregion import DEMO_CHANNEL, DEMO_PROJECT
from local.stack import LocalStack
from local.template import ROOT

# Read by the README's curl examples as $(cat local/.demo-api-key); gitignored.
KEY_FILE = ROOT / "local" / ".demo-api-key"
KEY_FILE_REF = "$(cat local/.demo-api-key)"


def write_key_file(key: str, path: Path = KEY_FILE) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(key + "\n", encoding="utf-8")


def curl_examples(api_url: str) -> list[str]:
    key = f'-H "x-api-key: {KEY_FILE_REF}"'
    body = '{"provider":"smartregion","user_id":"tg-100500","payload":"PAYLOAD123","user_field":{"name":"Ivan"}}'
    return [
        "# 1. liveness (no key needed)",
        f"curl -i {api_url}/v1/health",
        "# 2. register a user at SmartRegion (201; 200 when repeated without the Idempotency-Key)",
        f"curl -i -X POST {api_url}/v1/registrations {key} \\",
        '  -H "Content-Type: application/json" -H "Idempotency-Key: demo-registration-1" \\',
        f"  -d '{body}'",
        "# 3. read it back: by the id from the answer to 2, or by provider and user",
        f"curl -i {api_url}/v1/registrations/<id> {key}",
        f'curl -i "{api_url}/v1/registrations?provider=smartregion&user_id=tg-100500" {key}',
    ]


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
    lines = [
        f"Chatbridge local stack ({where}{', seeded' if stack.seeded else ''})",
        f"  API          {stack.api_url}   template.yaml routes, real handlers",
        f"  DynamoDB     {stack.dynamodb_backend} at {stack.dynamodb_endpoint}   table {stack.table_name}",
        f"  Secrets      moto at {stack.secrets_endpoint}",
        f"  SmartRegion  simulator at {stack.simulator.url}   project {DEMO_PROJECT}, channel {DEMO_CHANNEL}",
        f"  Smartico     simulator at {stack.smartico.url}   Imbee simulator at {stack.imbee.url}",
        f"  Bi-way       simulator at {stack.biway.url}   callbacks to {stack.api_url}/v1/callbacks/biway/<token>",
        f"  Demo API key {stack.api_key}   (also in local/.demo-api-key)",
        *webhook_lines(stack),
        "",
        "From the repository root:",
        *(f"  {line}" for line in curl_examples(stack.api_url)),
        "",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def webhook_lines(stack: LocalStack) -> list[str]:
    if stack.webhooks is None:
        return []
    return [
        f"  Sample bot   {stack.webhooks.bot.url}   subscribed to every event ({stack.webhooks.webhook_id}),",
        "               verifies each signature and prints what it gets (local/bot_receiver.py)",
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
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
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
    stack = LocalStack(seeded=args.seeded, host=host, bot_echo=lambda line: print(line, flush=True))
    env_file: Path | None = None
    try:
        try:
            stack.start()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            sys.exit(f"port {stack.api_port} is in use: stop what holds it or set CHATBRIDGE_PORT")
        write_key_file(stack.api_key)
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
        if env_file is not None:
            env_file.unlink(missing_ok=True)  # its addresses died with the stack
        if daemon is not None:
            daemon.stop()


if __name__ == "__main__":
    main()
