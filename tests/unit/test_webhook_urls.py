"""The SSRF guard: which URLs may receive deliveries, at creation and at every connection."""

from __future__ import annotations

from typing import Any

import httpcore
import httpx
import pytest

from chatbridge.webhooks.sender import GuardedBackend, GuardedTransport, HttpSender, build_client
from chatbridge.webhooks.urls import UnsafeUrlError, check_url
from tests.unit.conftest import FAKE_DNS


@pytest.mark.parametrize(
    "url",
    ["https://bot.example.com/hook", "https://bot.example.com:8443/hook?bot=1", "https://93.184.215.14/hook"],
)
def test_https_to_public_addresses_is_accepted(url: str) -> None:
    assert check_url(url, "public").host


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://bot.example.com/hook", "https"),
        ("ftp://bot.example.com/hook", "https"),
        ("https://user:pass@bot.example.com/hook", "credentials"),
        ("https://localhost/hook", "loopback"),
        ("https://127.0.0.1:9001/2018-06-01/runtime/invocation/next", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),
        ("https://intranet.example.com/hook", "private"),
        ("https://192.168.1.10/hook", "private"),
        ("https://metadata.example.com/latest/meta-data", "link-local"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[fe80::1]/hook", "link-local"),
        ("https://[fd12:3456::1]/hook", "unique-local"),
        ("https://100.64.0.1/hook", "not public"),
        ("https://0.0.0.0/hook", "private"),
        ("https://mixed.example.com/hook", "private"),  # one bad answer among good ones is enough
        ("https://nowhere.invalid/hook", "does not resolve"),
        ("https:///hook", "no host"),
    ],
)
def test_a_deployed_stack_refuses_unsafe_urls(url: str, why: str) -> None:
    with pytest.raises(UnsafeUrlError, match=why):
        check_url(url, "public")


def test_the_local_stack_allows_http_on_loopback_but_nothing_private() -> None:
    assert check_url("http://127.0.0.1:8080/bot", "local").port == 8080
    with pytest.raises(UnsafeUrlError, match="private"):
        check_url("http://10.0.0.5/bot", "local")
    with pytest.raises(UnsafeUrlError, match="link-local"):
        check_url("http://169.254.169.254/", "local")


class RecordingBackend(httpcore.NetworkBackend):
    """Stands in for the socket layer: records where a connection would go, and refuses it."""

    def __init__(self) -> None:
        self.connected: list[tuple[str, int]] = []

    def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        self.connected.append((host, port))
        raise httpcore.ConnectError("no sockets in unit tests")


def test_the_connection_pool_connects_to_the_checked_address_and_never_to_a_refused_one() -> None:
    inner = RecordingBackend()
    client = httpx.Client(transport=GuardedTransport("public", inner))

    with pytest.raises(httpx.ConnectError):
        client.post("https://bot.example.com/hook", content=b"{}")
    with pytest.raises(UnsafeUrlError, match="private"):
        client.post("https://intranet.example.com/hook", content=b"{}")

    assert inner.connected == [("93.184.215.14", 443)]


def test_the_backend_refuses_unix_sockets() -> None:
    with pytest.raises(UnsafeUrlError):
        GuardedBackend("public").connect_unix_socket("/var/run/docker.sock")


def test_a_host_that_now_resolves_to_a_private_address_is_refused_at_delivery(monkeypatch: pytest.MonkeyPatch) -> None:
    reached: list[httpx.Request] = []
    sender = HttpSender(
        build_client("public", httpx.MockTransport(lambda r: reached.append(r) or httpx.Response(200))), "public"
    )
    assert sender.send("https://bot.example.com/hook", {}, b"{}").status == 200

    monkeypatch.setitem(FAKE_DNS, "bot.example.com", ["10.9.8.7"])  # DNS rebinding after the check at creation
    result = sender.send("https://bot.example.com/hook", {}, b"{}")

    assert result.status is None and result.error is not None and "private" in result.error
    assert len(reached) == 1


def test_redirects_are_not_followed_and_answers_are_cut() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/moved":
            return httpx.Response(307, headers={"location": "https://169.254.169.254/latest/meta-data"})
        return httpx.Response(500, content=b"x" * 100_000)

    sender = HttpSender(build_client("public", httpx.MockTransport(answer)), "public")

    moved = sender.send("https://bot.example.com/moved", {}, b"{}")
    big = sender.send("https://bot.example.com/big", {}, b"{}")

    assert moved.status == 307
    assert big.status == 500 and len(big.body) == 1024
