"""moto's server in a background thread: Secrets Manager always, DynamoDB when Java is missing."""

from __future__ import annotations

import logging
import urllib.request
from types import TracebackType

from moto.server import ThreadedMotoServer

from local.ports import LOOPBACK, port_open


class MotoServer:
    """`with MotoServer() as moto: moto.endpoint_url` or start()/stop().

    The server runs in this process and serves moto's process-wide in-memory backends, the same
    ones `mock_aws` uses: start() empties them so every stack begins clean, and a `mock_aws` that
    starts while the server runs empties them too (keep unit and integration tests apart).
    """

    def __init__(self, host: str = LOOPBACK, port: int = 0) -> None:
        self._host = host
        self._port = port
        self._server: ThreadedMotoServer | None = None
        self.port: int | None = None

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise RuntimeError("MotoServer is not started")
        return f"http://{self._host}:{self.port}"

    def start(self) -> MotoServer:
        if self._server is not None:
            return self
        if self._port and port_open(self._host, self._port):
            # ThreadedMotoServer.start() would wait forever for a bind that failed in its thread.
            raise OSError(f"{self._host}:{self._port} is already in use")
        # werkzeug logs every request at INFO; the dev server already logs each API call.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # Port 0 lets the OS pick while binding: no window for another process to take the port.
        server = ThreadedMotoServer(ip_address=self._host, port=self._port, verbose=False)
        server.start()
        self._server = server
        self.port = server.get_host_and_port()[1]
        self._reset_backends()
        return self

    def _reset_backends(self) -> None:
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()
        self.port = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
