"""`python -m local.dev` (make dev): the local stack in the foreground until Ctrl-C."""

from __future__ import annotations

import errno
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

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


def banner(stack: LocalStack) -> str:
    lines = [
        "Chatbridge local stack (everything on 127.0.0.1)",
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


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)  # "Found credentials..." on every new client
    # A shell starting us in the background (make dev &) leaves SIGINT ignored; Ctrl-C must still stop us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    stack = LocalStack(bot_echo=lambda line: print(line, flush=True))
    try:
        try:
            stack.start()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            sys.exit(f"port {stack.api_port} is in use: stop what holds it or set CHATBRIDGE_PORT")
        write_key_file(stack.api_key)
        print(banner(stack), flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping the local stack...", file=sys.stderr, flush=True)
        stack.stop()
        KEY_FILE.unlink(missing_ok=True)  # the key died with the in-memory table


if __name__ == "__main__":
    main()
