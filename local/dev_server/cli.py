"""`python -m local.dev_server`: serve the routes with the current environment until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import os
import threading

from local.dev_server.server import DevServer
from local.ports import LOOPBACK

DEFAULT_PORT = 3000


def configured_port() -> int:
    return int(os.environ.get("CHATBRIDGE_PORT") or DEFAULT_PORT)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Serve template.yaml's routes with the real handlers. Uses the current environment "
        "(TABLE_NAME, AWS_ENDPOINT_URL_*); `python -m local.dev` starts a complete local stack instead."
    )
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, default=configured_port())
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not os.environ.get("TABLE_NAME"):
        parser.error("TABLE_NAME is not set; run `python -m local.dev` for a complete local stack")
    server = DevServer(args.host, args.port).start()
    print(f"Chatbridge API on {server.url} (Ctrl-C stops)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
