"""The delivery HTTP client: one pooled httpx client per execution environment, created on first
use, that connects only to addresses the URL guard accepts.

The guard runs twice: before each delivery (the URL and what its host resolves to now) and inside
the connection pool, on the address each new connection is about to use. The second closes the gap
between a check and a connect (DNS rebinding): a pooled connection keeps talking to the address
that was checked when it was opened. Redirects are never followed (a 3xx is a failed attempt), the
environment's proxies are ignored, and only the first bytes of an answer are read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from chatbridge.logic.deliveries import SendResult
from chatbridge.webhooks.urls import Policy, UnsafeUrlError, allowed_addresses, target_of

USER_AGENT = "chatbridge-webhooks/1.0"
# ~15 s for an answer, less to connect: a slow bot holds a worker no longer than this
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0)
RESPONSE_EXCERPT_BYTES = 1024


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's network backend, resolving each host itself and connecting only to accepted addresses."""

    def __init__(self, policy: Policy, inner: httpcore.NetworkBackend | None = None) -> None:
        self._policy = policy
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        failure: Exception | None = None
        for address in allowed_addresses(host, port, self._policy):
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise UnsafeUrlError("deliveries never use UNIX sockets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with its connection pool rebuilt on the guarded backend."""

    def __init__(self, policy: Policy, inner: httpcore.NetworkBackend | None = None) -> None:
        ssl_context = httpx.create_ssl_context(trust_env=False)  # loading the CA bundle takes ~0.1 s: once
        super().__init__(verify=ssl_context, trust_env=False, limits=LIMITS)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=LIMITS.max_connections,
            max_keepalive_connections=LIMITS.max_keepalive_connections,
            keepalive_expiry=LIMITS.keepalive_expiry,
            network_backend=GuardedBackend(policy, inner),
        )


def build_client(policy: Policy, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    return httpx.Client(
        transport=transport or GuardedTransport(policy),
        timeout=TIMEOUT,
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT, "Content-Type": "application/json"},
    )


class HttpSender:
    """`chatbridge.logic.deliveries.Sender` over HTTP."""

    def __init__(self, client: httpx.Client, policy: Policy) -> None:
        self._client = client
        self._policy = policy

    def send(self, url: str, headers: dict[str, str], body: bytes) -> SendResult:
        started = time.perf_counter()
        try:
            target = target_of(url, self._policy)
            allowed_addresses(target.host, target.port, self._policy)
            with self._client.stream("POST", url, content=body, headers=headers) as response:
                excerpt = _excerpt(response)
            return SendResult(status=response.status_code, latency_ms=_since(started), body=excerpt)
        except UnsafeUrlError as exc:
            return SendResult(latency_ms=_since(started), error=f"refused: {exc}")
        except httpx.TimeoutException as exc:
            return SendResult(latency_ms=_since(started), error=f"timeout ({type(exc).__name__})")
        except httpx.HTTPError as exc:
            return SendResult(latency_ms=_since(started), error=f"connection failed ({type(exc).__name__})")


def _excerpt(response: httpx.Response) -> str:
    read = bytearray()
    for chunk in response.iter_bytes():
        read.extend(chunk)
        if len(read) >= RESPONSE_EXCERPT_BYTES:
            break
    return bytes(read[:RESPONSE_EXCERPT_BYTES]).decode("utf-8", "replace")


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


class SenderPool:
    """The one client of the execution environment; tests swap its transport."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._senders: dict[Policy, HttpSender] = {}
        self.transport: httpx.BaseTransport | None = None

    def sender(self, policy: Policy) -> HttpSender:
        with self._lock:
            found = self._senders.get(policy)
            if found is None:
                found = HttpSender(build_client(policy, self.transport), policy)
                self._senders[policy] = found
            return found

    def reset(self, transport: httpx.BaseTransport | None = None) -> None:
        """New clients from now on. The old ones are dropped, not closed: a delivery still running
        in another thread (the local stack's, while a test resets caches) finishes with its client;
        their connections close when they are collected."""
        with self._lock:
            self._senders.clear()
            self.transport = transport


sender_pool = SenderPool()
