"""The Imbee simulator and client: envelopes, `previously_*` flags, tokens and chats (socket-free).

The client calls are what engineer B's Messaging routes use (`create_access_token`, `create_chat`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from chatbridge.errors import ProviderAuthError, ProviderRejectedError
from chatbridge.integrations.imbee.client import (
    ImbeeChatContact,
    ImbeeChatRequest,
    ImbeeClient,
    ImbeeConnection,
    ImbeeTokenRequest,
    ImbeeUser,
    ImbeeUserRequest,
)
from local.simulators.imbee import ImbeeSimulator
from tests.simulated import SimulatorFake

# Calling a client outside a handler leaves its metrics unflushed between calls.
pytestmark = pytest.mark.filterwarnings("ignore:Dimension 'provider' has already been added")

CONNECTION = ImbeeConnection.model_validate(
    {"auth": "my-auth", "corporate_token": "my-corporate-token", "base_url": "https://imbee.test"}
)


@pytest.fixture
def simulator() -> ImbeeSimulator:
    return ImbeeSimulator("my-auth", "my-corporate-token")


@pytest.fixture
def fake(simulator: ImbeeSimulator) -> SimulatorFake:
    return SimulatorFake(simulator)


@pytest.fixture
def client(fake: SimulatorFake) -> ImbeeClient:
    return ImbeeClient(
        CONNECTION, httpx.Client(base_url=CONNECTION.base_url, transport=httpx.MockTransport(fake.handle))
    )


def user(client: ImbeeClient, unique_id: str) -> ImbeeUser:
    return client.create_external_user(ImbeeUserRequest(uniqueIdSha=unique_id))


def test_every_answer_is_the_documented_envelope(simulator: ImbeeSimulator) -> None:
    answer = simulator.handle(
        "POST",
        "/third_parties/user/new",
        {"authorization": "my-auth", "x-woos-key": "my-corporate-token", "content-type": "application/json"},
        b'{"uniqueIdSha": "u1"}',
    )

    assert answer.status == 200
    assert set(answer.body) == {"time", "code", "message", "body"}
    assert isinstance(answer.body["time"], float)
    assert answer.body["code"] == 0
    assert set(answer.body["body"]) == {"virtualUser", "pass", "apikey", "previously_registered"}


@pytest.mark.parametrize(
    ("headers", "body", "status", "message"),
    [
        ({"authorization": "wrong"}, b'{"uniqueIdSha": "u1"}', 401, "Invalid Authorization"),
        ({"x-woos-key": "wrong"}, b'{"uniqueIdSha": "u1"}', 401, "Invalid X-WOOS-KEY"),
        ({"content-type": "text/plain"}, b'{"uniqueIdSha": "u1"}', 200, "Content-Type must be application/json"),
        ({}, b"[1]", 200, "The body must be a JSON object"),
        ({}, b'{"uniqueIdSha": ""}', 200, "uniqueIdSha can not be null or empty"),
    ],
)
def test_refusals_are_code_1(simulator, headers: dict[str, str], body: bytes, status: int, message: str) -> None:
    base = {"authorization": "my-auth", "x-woos-key": "my-corporate-token", "content-type": "application/json"}

    answer = simulator.handle("POST", "/third_parties/user/new", {**base, **headers}, body)

    assert (answer.status, answer.body["code"], answer.body["message"], answer.body["body"]) == (
        status,
        1,
        message,
        None,
    )


def test_a_user_created_twice_is_previously_registered_with_the_same_credentials(client: ImbeeClient) -> None:
    first = user(client, "u1")
    second = user(client, "u1")

    assert (first.previously_registered, second.previously_registered) == (False, True)
    assert second.virtual_user == first.virtual_user
    assert second.apikey.get_secret_value() == first.apikey.get_secret_value()
    assert second.pass_.get_secret_value() == first.pass_.get_secret_value()


def test_an_access_token_is_created_once_per_user_and_bot(client, fake: SimulatorFake) -> None:
    virtual_user = user(client, "u1").virtual_user
    request = ImbeeTokenRequest(virtual_user=virtual_user, bot_idsha="bot-1", mail="user@example.org", max_retries=3)

    first = client.create_access_token(request)
    second = client.create_access_token(request)

    assert first.previously_created is False and second.previously_created is True
    assert second.url == first.url and first.url.startswith("https://")
    assert (first.user_idsha, first.max_retries) == (virtual_user, 3)
    sent = fake.requests[-1]
    assert sent.url.path == "/token/new"
    assert sent.headers["x-woos-key"] == "my-corporate-token"
    assert (
        sent.read()
        == b'{"virtual_user":"'
        + virtual_user.encode()
        + b'","bot_idsha":"bot-1","mail":"user@example.org","max_retries":3}'
    )


def test_a_token_without_limits_gets_the_defaults(client) -> None:
    virtual_user = user(client, "u1").virtual_user

    token = client.create_access_token(
        ImbeeTokenRequest(virtual_user=virtual_user, bot_idsha="b", celullar="34600000000")
    )

    assert token.max_retries == 10
    assert token.date_limit == (datetime.now(UTC).date() + timedelta(days=30)).isoformat()


def test_a_token_needs_mail_or_celullar() -> None:
    with pytest.raises(ValidationError, match="mail or celullar"):
        ImbeeTokenRequest(virtual_user="vu", bot_idsha="b")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"virtual_user": "nobody"}, "User not found"),
        ({"date_limit": date(2000, 1, 1)}, "date_limit is in the past"),
    ],
)
def test_token_refusals_are_422_with_code_1(client, fields: dict[str, object], message: str) -> None:
    virtual_user = user(client, "u1").virtual_user
    request = ImbeeTokenRequest(**{"virtual_user": virtual_user, "bot_idsha": "b", "mail": "a@b.co", **fields})  # type: ignore[arg-type]

    with pytest.raises(ProviderRejectedError) as refused:
        client.create_access_token(request)

    assert refused.value.status == 422
    assert refused.value.provider_code == "1"
    assert message in refused.value.detail


def test_a_chat_is_opened_with_the_first_users_apikey_and_created_once(client, fake) -> None:
    opener, other = user(client, "u1"), user(client, "u2")
    request = ImbeeChatRequest(contacts=[ImbeeChatContact(idsha=other.virtual_user)])

    first = client.create_chat(opener.apikey, request)
    again = client.create_chat(opener.apikey, request)

    assert fake.requests[-1].headers["x-woos-key"] == opener.apikey.get_secret_value()
    assert fake.requests[-1].read() == b'{"type":"chat","contacts":[{"idsha":"' + other.virtual_user.encode() + b'"}]}'
    assert [(m.idsha, m.isadmin) for m in first.contacts] == [(opener.virtual_user, 1), (other.virtual_user, 0)]
    assert (first.previously_created, again.previously_created) == (False, True)
    assert again.conversation_id == first.conversation_id


def test_a_chat_opened_with_the_corporate_token_is_refused(client) -> None:
    other = user(client, "u2")

    with pytest.raises(ProviderAuthError):
        client.create_chat(
            SecretStr("my-corporate-token"), ImbeeChatRequest(contacts=[ImbeeChatContact(idsha=other.virtual_user)])
        )


def test_a_chat_with_an_unknown_contact_is_code_1(client) -> None:
    opener = user(client, "u1")

    with pytest.raises(ProviderRejectedError, match="not found"):
        client.create_chat(opener.apikey, ImbeeChatRequest(contacts=[ImbeeChatContact(idsha="ghost")]))


def test_reset_forgets_everything(simulator: ImbeeSimulator, client) -> None:
    user(client, "u1")

    simulator.reset()

    assert simulator.users == {} and simulator.requests == []
