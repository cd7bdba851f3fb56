"""What every provider client shares: pooled httpx clients, timeouts, safe retries, metrics."""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import ClassVar, Literal
from urllib.parse import quote, quote_plus

import httpx
from pydantic import SecretStr

from chatbridge.errors import OutcomeUnknownError, ProviderTimeoutError, ProviderUnavailableError
from chatbridge.integrations.ratelimit import RateLimit, throttle_for
from chatbridge.observability import logger, record_provider_call


def provider_timeout() -> httpx.Timeout:
    """Three attempts of at most PROVIDER_READ_TIMEOUT seconds must fit in API Gateway's 30 s."""
    read = float(os.environ.get("PROVIDER_READ_TIMEOUT", "5"))
    return httpx.Timeout(connect=3.0, read=read, write=5.0, pool=2.0)


USER_AGENT = "chatbridge/1.0"
# As many connections kept alive as may be open: with fewer, every call beyond the kept ones closes
# its connection after the answer and the next call pays a new TCP (and TLS) handshake; a fan-out
# of 16 threads over 10 kept connections spent a third of its time on that (benchmarks/fanout.py).
POOL_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=20)


class HttpPool:
    """One httpx.Client per base URL, kept for the life of the execution environment."""

    def __init__(self) -> None:
        self._clients: dict[str, httpx.Client] = {}
        self.transport: httpx.BaseTransport | None = None

    def client_for(self, base_url: str) -> httpx.Client:
        client = self._clients.get(base_url)
        if client is None:
            client = httpx.Client(
                base_url=base_url,
                timeout=provider_timeout(),
                transport=self.transport,
                limits=POOL_LIMITS,
                headers={"User-Agent": USER_AGENT},
            )
            self._clients[base_url] = client
        return client

    def reset(self, transport: httpx.BaseTransport | None = None) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        self.transport = transport


http_pool = HttpPool()


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 2.0
    retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.isdigit():
            return min(float(retry_after), self.max_delay)
        backoff = min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)
        return backoff / 2 + random.uniform(0, backoff / 2)  # noqa: S311 - jitter, not security


class ProviderClient:
    """Base of the provider clients: one `send` that knows when a call may be repeated.

    `safe_to_repeat` is decided per operation by the provider client: a call whose effect is the
    same when applied twice (an upsert, a read) is retried after timeouts and 5xx answers; any
    other call is retried only when the request provably never reached the provider.
    """

    provider: ClassVar[str]
    retry_policy: ClassVar[RetryPolicy] = RetryPolicy()
    # The provider's documented limit per credential; None where it publishes none.
    rate_limit: ClassVar[RateLimit | None] = None

    def __init__(self, http: httpx.Client, *, credential: str | None = None) -> None:
        """`credential` names the bucket of `rate_limit` (calls made with one credential share it)."""
        self._http = http
        self._throttle = throttle_for(self.provider, credential, self.rate_limit)

    def send(self, request: httpx.Request, *, operation: str, safe_to_repeat: bool) -> httpx.Response:
        """Send `request`, repeating it only where that cannot do anything twice (see `classify`).

        A call that is not safe to repeat and may have reached the provider without an answer coming
        back raises OutcomeUnknownError: the caller records the unknown outcome instead of guessing.
        """
        policy = self.retry_policy
        attempt = 0
        while True:
            attempt += 1
            self._throttle.acquire(self.provider)
            started = time.perf_counter()
            try:
                response = self._http.send(request)
            except (httpx.TransportError, httpx.DecodingError) as exc:
                reach = classify(exc)
                self._record(operation, _metric_outcome(exc, reach), started)
                repeatable = safe_to_repeat or reach != "maybe-reached"
                if repeatable and reach != "misconfigured" and attempt < policy.attempts:
                    self._pause(operation, attempt, None, type(exc).__name__)
                    continue
                raise self._failure(exc, reach, safe_to_repeat) from exc
            self._record(operation, str(response.status_code), started)
            # 429 means "not processed", so it is repeatable whatever the operation.
            repeatable = safe_to_repeat or response.status_code == 429
            if response.status_code in policy.retry_statuses and repeatable and attempt < policy.attempts:
                self._pause(operation, attempt, response.headers.get("retry-after"), str(response.status_code))
                continue
            return response

    def _failure(self, exc: Exception, reach: Reach, safe_to_repeat: bool) -> Exception:
        name = type(exc).__name__
        if reach != "maybe-reached":
            return ProviderUnavailableError(f"{self.provider} could not be reached ({name}).", provider=self.provider)
        if not safe_to_repeat:
            return OutcomeUnknownError(
                f"{self.provider} got the request but no answer came back ({name}): it may have been processed.",
                provider=self.provider,
                cause=name,
            )
        if isinstance(exc, httpx.TimeoutException):
            return ProviderTimeoutError(f"{self.provider} did not answer in time ({name}).", provider=self.provider)
        return ProviderUnavailableError(f"The connection to {self.provider} failed ({name}).", provider=self.provider)

    def _pause(self, operation: str, attempt: int, retry_after: str | None, reason: str) -> None:
        delay = self.retry_policy.delay(attempt, retry_after)
        logger.warning(
            "retrying provider call",
            extra={"provider": self.provider, "operation": operation, "attempt": attempt, "reason": reason},
        )
        self.retry_policy.sleep(delay)

    def _record(self, operation: str, outcome: str, started: float) -> None:
        record_provider_call(self.provider, operation, outcome, (time.perf_counter() - started) * 1000)


# Transport errors by whether the request may have reached the provider (see `classify`).
Reach = Literal["never-left", "misconfigured", "maybe-reached"]


def classify(exc: Exception) -> Reach:
    """Whether a request that failed with `exc` may have reached the provider.

    never-left: no connection was made (refused, DNS, connect timeout, no pooled connection free,
    the proxy refused), so nothing was sent and any call may be sent again. misconfigured: a URL
    httpx cannot send to (a base_url without http(s)://): nothing was sent, and sending again
    cannot help. maybe-reached: the request or part of it was written, then the answer timed out
    (ReadTimeout), the write stalled (WriteTimeout), or the connection dropped or broke
    (RemoteProtocolError, ReadError, WriteError, a protocol error while writing, an answer that
    cannot be decoded): the provider may have acted on it.
    """
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "misconfigured"
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout | httpx.ProxyError):
        return "never-left"
    return "maybe-reached"


def _metric_outcome(exc: Exception, reach: Reach) -> str:
    if reach != "maybe-reached":
        return "unreachable"
    return "timeout" if isinstance(exc, httpx.TimeoutException) else "transport-error"


REDACTED = "[redacted]"


def scrub(text: str, secrets: Iterable[str | SecretStr | None]) -> str:
    """`text` (a provider's message) without any of `secrets` we sent, as sent or as echoed escaped."""
    for secret in secrets:
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if not value:
            continue
        forms = {
            value,
            json.dumps(value)[1:-1],
            json.dumps(value, ensure_ascii=False)[1:-1],
            quote(value, safe=""),
            quote_plus(value),
        }
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, REDACTED)
    return text


def provider_said(text: str | None, secrets: Iterable[str | SecretStr | None] = (), limit: int = 200) -> str:
    """A provider's message fit for our problem `detail` and logs: scrubbed first, then cut."""
    return scrub(text or "", secrets)[:limit]


_REASON_PHRASES = {status.value: status.phrase for status in HTTPStatus}


def _words(text: str) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())  # any script: letters and digits


def provider_said_beyond(
    text: str | None,
    detail: str,
    code: str | int = "",
    secrets: Iterable[str | SecretStr | None] = (),
    limit: int = 200,
) -> str:
    """What the provider said (scrubbed, cut), or '' when it only repeats what `detail` already says.

    Providers often answer their code again as the message (Smartico's errMsg is the name of its
    errCode, `USERNAME_ALREADY_EXISTS`; an HTTP API says `Not Found` with its 404): appended as is,
    the detail would name the code twice. A message is left out when, words compared without case
    or punctuation, it is the code, the code's HTTP reason phrase, or a phrase of `detail`.
    """
    said = provider_said(text, secrets, limit).strip()
    words = _words(said)
    if not words:
        return ""
    repeats = {_words(str(code))}
    if str(code).isdigit() and int(code) in _REASON_PHRASES:
        repeats.add(_words(_REASON_PHRASES[int(code)]))
    if words in repeats or f" {words} " in f" {_words(detail)} ":
        return ""
    return said


def body_excerpt(response: httpx.Response, limit: int = 300, secrets: Iterable[str | SecretStr | None] = ()) -> str:
    text = response.text.strip()
    return provider_said(text, secrets, limit) if text else "(empty body)"
