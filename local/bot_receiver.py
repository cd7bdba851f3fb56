"""A sample bot: an HTTP endpoint on 127.0.0.1 that receives Chatbridge's webhooks, verifies each
one with the `standardwebhooks` package (what a bot would use, and not our code), dedupes on
`webhook-id`, and prints what it gets.

    python -m local.bot_receiver --secret whsec_... [--port 8900]

`make dev` runs one subscribed to every event type. A bot of your own does the same three things:

    from standardwebhooks import Webhook
    payload = Webhook(secret).verify(body_bytes, headers)   # raises if the signature is wrong
    if headers["webhook-id"] in already_handled: return 200  # at least once: dedupe
    handle(payload["type"], payload["data"]); return 200     # any 2xx is success; 410 unsubscribes
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import standardwebhooks

from local.ports import LOOPBACK
from local.retention import RECENT, keep_recent

Printer = Callable[[str], None]


@dataclass(frozen=True)
class Delivery:
    webhook_id: str
    type: str
    event_id: str
    attempt: int  # how many times this webhook-id came, this one included
    verified: bool
    answered: int
    received_at: float  # time.time() when it arrived
    data: dict[str, Any]


class BotReceiver:
    """start()/stop(); `url` once started. Thread-safe: deliveries arrive in parallel."""

    def __init__(self, *, port: int = 0, echo: Printer | None = None, keeps: int = RECENT) -> None:
        self._port = port
        self._keeps = keeps
        self._echo = echo
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._secrets: list[str] = []
        self._fail_first: list[Callable[[dict[str, Any]], bool]] = []
        self._failed_once: set[str] = set()
        # attempts per webhook-id, oldest first: what `attempt` counts, without scanning the log
        self._attempts: dict[str, int] = {}
        self.deliveries: list[Delivery] = []  # the last `keeps` to 2 x `keeps` (local.retention)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("BotReceiver is not started")
        return f"http://{LOOPBACK}:{self._server.server_address[1]}/chatbridge"

    def add_secret(self, secret: str) -> None:
        with self._lock:
            self._secrets.append(secret)

    def fail_first_attempt(self, predicate: Callable[[dict[str, Any]], bool]) -> None:
        """Answer 503 to the first attempt of each delivery whose payload matches (then 200)."""
        with self._lock:
            self._fail_first.append(predicate)

    def start(self) -> BotReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # one segment per answer: headers and body written apart meet the client's delayed ACK
            # (Nagle's algorithm) and cost ~40 ms per request on a kept-alive connection
            disable_nagle_algorithm = True
            wbufsize = 64 * 1024

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.receive(body, {k.lower(): v for k, v in self.headers.items()})
                text = b"ok" if status < 300 else b"try again later" if status == 503 else b"bad signature"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                return

        self._server = ThreadingHTTPServer((LOOPBACK, self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="bot-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def receive(self, body: bytes, headers: dict[str, str]) -> int:
        arrived = time.time()
        with self._lock:
            secrets = list(self._secrets)
        payload = self._verified(body, headers, secrets)
        webhook_id = headers.get("webhook-id", "?")
        with self._lock:
            attempt = self._attempts.pop(webhook_id, 0) + 1
            self._attempts[webhook_id] = attempt  # moved to the end: the oldest ids go first
            if len(self._attempts) > 2 * self._keeps:
                for oldest in list(self._attempts)[: self._keeps]:
                    del self._attempts[oldest]
                    self._failed_once.discard(oldest)
            if payload is None:
                status = 401
            elif webhook_id not in self._failed_once and any(p(payload) for p in self._fail_first):
                self._failed_once.add(webhook_id)
                status = 503
            else:
                status = 200
            data = (payload or {}).get("data") or {}
            delivery = Delivery(
                webhook_id=webhook_id,
                type=str((payload or {}).get("type", "?")),
                event_id=str(data.get("id", "?")),
                attempt=attempt,
                verified=payload is not None,
                answered=status,
                received_at=arrived,
                data=data,
            )
            self.deliveries.append(delivery)
            keep_recent(self.deliveries, self._keeps)
            self._arrived.notify_all()
        if self._echo is not None:
            self._echo(describe(delivery))
        return status

    @staticmethod
    def _verified(body: bytes, headers: dict[str, str], secrets: list[str]) -> dict[str, Any] | None:
        for secret in secrets:
            try:
                payload: dict[str, Any] = standardwebhooks.Webhook(secret).verify(body, headers)
                return payload
            except standardwebhooks.WebhookVerificationError:
                continue
        return None

    def wait_for(self, check: Callable[[list[Delivery]], bool], timeout: float = 15.0) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not check(self.deliveries):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the bot did not receive what was expected in time")
                self._arrived.wait(remaining)
            return list(self.deliveries)


def describe(delivery: Delivery) -> str:
    mark = "verified" if delivery.verified else "SIGNATURE REFUSED"
    facts = delivery.data.get("subject_ref") or delivery.data.get("webhook_id") or ""
    return (
        f"bot <- {delivery.type:<28} {facts:<14} webhook-id {delivery.webhook_id[:16]}… "
        f"attempt {delivery.attempt}, {mark}, answered {delivery.answered}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="A sample bot receiving Chatbridge webhooks.")
    parser.add_argument("--secret", action="append", required=True, help="whsec_... (repeat during a rotation)")
    parser.add_argument("--port", type=int, default=8900)
    args = parser.parse_args()
    receiver = BotReceiver(port=args.port, echo=lambda line: print(line, flush=True))
    for secret in args.secret:
        receiver.add_secret(secret)
    receiver.start()
    print(f"listening on {receiver.url}; Ctrl-C stops", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        receiver.stop()


if __name__ == "__main__":
    main()
