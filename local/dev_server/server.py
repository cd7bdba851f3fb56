"""The HTTP side: a threading HTTP/1.1 server on 127.0.0.1 handing each request to the Gateway."""

from __future__ import annotations

import io
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from local.dev_server.emulation import Gateway
from local.dev_server.messages import HttpRequest, HttpResponse, gateway_answer
from local.ports import LOOPBACK

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # HttpApi's request payload quota
CALLBACK_PREFIX = "/v1/callbacks/"


def loggable_path(target: str) -> str:
    """The path without query string or webhook token: both can carry credentials.

    Malformed callback paths too (`/v1/callbacks/smartregion//<token>`, a token in the provider's
    place): after the prefix only a known provider's name is shown, everything else is masked.
    """
    from chatbridge.integrations import registry

    path = target.partition("?")[0]
    if not path.startswith(CALLBACK_PREFIX):
        return path
    first, slash, _ = path[len(CALLBACK_PREFIX) :].partition("/")
    shown = first if first in registry.names() else "***"
    return CALLBACK_PREFIX + shown + ("/***" if slash else "")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's listen backlog is 5: concurrent clients opening their connections at once
    # (the callbacks benchmark's load run) overflowed it and met connection resets.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], gateway: Gateway) -> None:
        self.gateway = gateway
        super().__init__(address, _Handler)
        self.authority = f"{address[0]}:{self.server_port}"


class _BodyTooLargeError(Exception):
    pass


def _read_chunked(stream: io.BufferedIOBase, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size = int(stream.readline(65537).split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while stream.readline(65537) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        total += size
        if total > limit:
            raise _BodyTooLargeError
        chunks.append(stream.read(size))
        stream.readline()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _serve(self) -> None:
        """Every method goes to the Gateway, which answers those no route takes (404)."""
        started = time.perf_counter()
        try:
            body = self._read_body()
        except _BodyTooLargeError:
            self.close_connection = True  # the unread body would corrupt the next request
            response = gateway_answer(413, "Request Entity Too Large")
        except ValueError:
            self.close_connection = True
            response = gateway_answer(400, "Bad Request")
        else:
            request = HttpRequest(
                method=self.command,
                target=self.path,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
                protocol=self.request_version,
                host=self.server.authority,
            )
            response = self.server.gateway.handle(request)
        self._write(response)
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.info('"%s %s" %s %.0f ms', self.command, loggable_path(self.path), response.status, elapsed_ms)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return _read_chunked(self.rfile, MAX_PAYLOAD_BYTES)
        length = int(self.headers.get("content-length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_PAYLOAD_BYTES:
            raise _BodyTooLargeError
        return self.rfile.read(length) if length else b""

    def _write(self, response: HttpResponse) -> None:
        try:
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        # Requests are logged once in _serve, with timing; keep only the stdlib's error reports.
        if format.startswith("code "):
            log.warning(format, *args)


class DevServer:
    """`with DevServer() as server: server.url` or start()/stop()."""

    def __init__(self, host: str = LOOPBACK, port: int = 0, *, authorizer_ttl: int | None = None) -> None:
        self.gateway = Gateway(authorizer_ttl=authorizer_ttl)
        self._host = host
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("DevServer is not started")
        return f"http://{self._host}:{self._server.server_address[1]}"

    def start(self) -> DevServer:
        if self._server is not None:
            return self
        self.gateway.load()
        self._server = _Server((self._host, self._port), self.gateway)
        self._thread = threading.Thread(target=self._server.serve_forever, name="dev-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
