"""`ProviderClient.send`, the one place transport errors are classified: never left, or may have
reached the provider. A call that is not safe to repeat is sent again only when it never left; when
it may have reached the provider and no answer came back, the outcome is unknown (never a retry)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import httpx
import pytest

from chatbridge.errors import OutcomeUnknownError, ProviderTimeoutError, ProviderUnavailableError
from chatbridge.integrations.http import ProviderClient, RetryPolicy, classify, provider_said, scrub


class ExampleClient(ProviderClient):
    provider = "example"
    retry_policy: ClassVar[RetryPolicy] = RetryPolicy(sleep=lambda _: None)


def client_failing_with(error: Callable[[httpx.Request], Exception]) -> tuple[ExampleClient, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        raise error(request)

    http = httpx.Client(base_url="https://example.test", transport=httpx.MockTransport(handle))
    return ExampleClient(http), sent


def send(client: ExampleClient, *, safe_to_repeat: bool) -> httpx.Response:
    request = client._http.build_request("POST", "/create", json={"a": 1})
    return client.send(request, operation="create", safe_to_repeat=safe_to_repeat)


NEVER_LEFT = [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError]
MAYBE_REACHED = [
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
    httpx.LocalProtocolError,
    httpx.DecodingError,
]


@pytest.mark.parametrize("error", NEVER_LEFT, ids=lambda e: e.__name__)
@pytest.mark.parametrize("safe_to_repeat", [True, False])
def test_a_call_that_never_left_is_sent_again_whatever_it_does(error: type[Exception], safe_to_repeat: bool) -> None:
    client, sent = client_failing_with(lambda request: error("no connection", request=request))

    with pytest.raises(ProviderUnavailableError) as raised:
        send(client, safe_to_repeat=safe_to_repeat)

    assert len(sent) == 3
    assert not isinstance(raised.value, OutcomeUnknownError)
    assert classify(error("x")) == "never-left"


@pytest.mark.parametrize("error", MAYBE_REACHED, ids=lambda e: e.__name__)
def test_a_call_not_safe_to_repeat_that_may_have_reached_the_provider_is_an_unknown_outcome(
    error: type[Exception],
) -> None:
    client, sent = client_failing_with(lambda request: error("answer lost", request=request))

    with pytest.raises(OutcomeUnknownError) as raised:
        send(client, safe_to_repeat=False)

    assert len(sent) == 1
    assert (raised.value.status, raised.value.kind, raised.value.cause) == (504, "outcome-unknown", error.__name__)
    assert classify(error("x")) == "maybe-reached"


@pytest.mark.parametrize(
    ("error", "answer"),
    [
        (httpx.ReadTimeout, ProviderTimeoutError),
        (httpx.WriteTimeout, ProviderTimeoutError),
        (httpx.RemoteProtocolError, ProviderUnavailableError),
        (httpx.ReadError, ProviderUnavailableError),
    ],
    ids=lambda e: getattr(e, "__name__", ""),
)
def test_a_call_safe_to_repeat_is_repeated_then_reported(error: type[Exception], answer: type[Exception]) -> None:
    client, sent = client_failing_with(lambda request: error("answer lost", request=request))

    with pytest.raises(answer) as raised:
        send(client, safe_to_repeat=True)

    assert len(sent) == 3
    assert not isinstance(raised.value, OutcomeUnknownError)


def test_a_base_url_httpx_cannot_send_to_is_not_retried() -> None:
    client, sent = client_failing_with(lambda request: httpx.UnsupportedProtocol("ftp://", request=request))

    with pytest.raises(ProviderUnavailableError):
        send(client, safe_to_repeat=True)

    assert len(sent) == 1


def test_a_call_that_never_left_then_lost_its_answer_is_unknown() -> None:
    errors = iter([httpx.ConnectError("refused"), httpx.ReadTimeout("lost")])
    client, sent = client_failing_with(lambda request: next(errors))

    with pytest.raises(OutcomeUnknownError):
        send(client, safe_to_repeat=False)

    assert len(sent) == 2


# -- provider text in our answers ---------------------------------------------------------------


def test_secrets_are_scrubbed_from_provider_text_as_sent_and_as_echoed() -> None:
    secret = 'Q!w2e"3r4 é'
    json_escaped = secret.replace('"', '\\"')
    echoed = f"raw {secret} json {json_escaped} url Q%21w2e%223r4%20%C3%A9 plus Q%21w2e%223r4+%C3%A9"

    scrubbed = scrub(echoed, [secret])

    assert scrubbed == "raw [redacted] json [redacted] url [redacted] plus [redacted]"


def test_provider_text_is_scrubbed_before_it_is_cut() -> None:
    secret = "s3cr3t-password"
    text = "x" * 190 + secret

    said = provider_said(text, [secret], limit=200)

    assert said == "x" * 190 + "[redacted]"
