"""Pagination tokens are opaque (encrypted by the stack's KMS key), cannot be altered or forged,
and page only the query that issued them: anything else is a 400 problem, never other items."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

import messaging_handler
from chatbridge import page_tokens
from chatbridge.errors import BadRequestError, ConfigurationError
from chatbridge.store.items import MessageItem
from chatbridge.store.messages import DynamoMessageStore
from tests.support import api_event, body_of
from tests.unit.conftest import PAGE_TOKEN_KEY_ALIAS

T0 = datetime(2031, 1, 1, 10, 0, tzinfo=UTC)
PHONES = [f"+3367000000{n}" for n in range(4)]


def broadcast(store: DynamoMessageStore, message_id: str) -> None:
    store.create_message(
        MessageItem(
            id=message_id,
            provider="biway",
            connection="default",
            kind="broadcast",
            status="accepted",
            provider_ref=f"ref-{message_id}",
            recipients=len(PHONES),
            per_recipient=True,
            created_at=T0,
            updated_at=T0,
        )
    )
    for n, phone in enumerate(PHONES):
        store.apply_status(
            "biway", f"ref-{message_id}", "delivered", T0 + timedelta(seconds=n), f"{message_id}-{n}", phone
        )


@pytest.fixture
def messages(aws: None) -> DynamoMessageStore:
    store = DynamoMessageStore(boto3.client("dynamodb"), "chatbridge-test")  # type: ignore[arg-type]
    broadcast(store, "bc-one")
    broadcast(store, "bc-two")
    return store


def get(message_id: str, context: Any, **query: str) -> dict[str, Any]:
    event = api_event("GET", f"/v1/messages/{message_id}", route="/v1/messages/{id}", query=query)
    response: dict[str, Any] = messaging_handler.lambda_handler(event, context)
    return response


def token_bytes(token: str) -> bytes:
    body = token.removeprefix(page_tokens.VERSION_PREFIX)
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def test_a_token_holds_no_key_id_or_phone_in_clear_and_pages_its_query(messages, context) -> None:
    first = body_of(get("bc-one", context, limit="2"))
    token = first["next_token"]

    rest = body_of(get("bc-one", context, limit="10", next_token=token))

    assert token.startswith("p1.")
    for secret in ("RCPT", "MSG#", "bc-one", *PHONES, PHONES[1].lstrip("+")):
        assert secret.encode() not in token_bytes(token)
        assert secret not in token
    seen = [r["recipient"] for r in first["recipient_statuses"] + rest["recipient_statuses"]]
    assert sorted(seen) == PHONES


def assert_refused(response: dict[str, Any]) -> None:
    assert response["statusCode"] == 400
    assert response["headers"]["Content-Type"] == "application/problem+json"
    problem = body_of(response)
    assert problem["errors"] == [{"field": "next_token", "message": "invalid token"}]
    assert "recipient_statuses" not in problem


def test_a_token_of_another_message_is_a_400_not_its_items(messages, context) -> None:
    token = body_of(get("bc-one", context, limit="2"))["next_token"]

    assert_refused(get("bc-two", context, next_token=token))


@pytest.mark.parametrize("position", [3, 20, -1])
def test_an_altered_token_is_a_400(messages, context, position: int) -> None:
    token = body_of(get("bc-one", context, limit="2"))["next_token"]
    blob = bytearray(token_bytes(token))
    blob[position] ^= 0x01
    altered = "p1." + base64.urlsafe_b64encode(bytes(blob)).decode().rstrip("=")

    assert_refused(get("bc-one", context, next_token=altered))


def test_a_crafted_plain_token_of_the_old_format_is_a_400(messages, context) -> None:
    # what tokens used to be: the raw key in base64, which a client could write itself
    crafted = base64.urlsafe_b64encode(
        json.dumps({"pk": {"S": "MSG#bc-two"}, "sk": {"S": f"RCPT#{PHONES[0]}"}}).encode()
    ).decode()

    assert_refused(get("bc-two", context, next_token=crafted))
    assert_refused(get("bc-two", context, next_token="p1." + crafted))


def test_a_token_of_another_stack_is_a_400(messages, context, monkeypatch) -> None:
    from chatbridge.settings import get_settings

    monkeypatch.setenv("PAGE_TOKEN_KEY_ID", boto3.client("kms").create_key()["KeyMetadata"]["Arn"])
    get_settings.cache_clear()
    foreign = page_tokens.seal({"pk": {"S": "MSG#bc-one"}, "sk": {"S": f"RCPT#{PHONES[1]}"}}, "messages/MSG#bc-one")
    monkeypatch.setenv("PAGE_TOKEN_KEY_ID", PAGE_TOKEN_KEY_ALIAS)
    get_settings.cache_clear()

    assert_refused(get("bc-one", context, next_token=foreign))


def test_a_token_is_bound_to_its_query_and_to_the_expected_key_shape(aws) -> None:
    key = {"pk": {"S": "MSG#x"}, "sk": {"S": "RCPT#1"}}
    token = page_tokens.seal(key, "messages/MSG#x")

    assert page_tokens.open_token(token, "messages/MSG#x", {"pk", "sk"}) == key
    with pytest.raises(BadRequestError):
        page_tokens.open_token(token, "messages/MSG#y", {"pk", "sk"})
    with pytest.raises(BadRequestError):
        page_tokens.open_token(token, "messages/MSG#x", {"pk", "sk", "gsi1pk", "gsi1sk"})
    assert page_tokens.seal(None, "messages/MSG#x") is None


def test_without_the_key_configured_a_next_page_is_a_configuration_error(aws, monkeypatch) -> None:
    monkeypatch.delenv("PAGE_TOKEN_KEY_ID")

    with pytest.raises(ConfigurationError):
        page_tokens.seal({"pk": {"S": "x"}}, "q")


def test_reading_a_message_for_a_provider_report_needs_no_page_token(messages, monkeypatch) -> None:
    # the events processor looks messages up for every delivery report: no KMS call for that
    from chatbridge.settings import get_settings

    monkeypatch.delenv("PAGE_TOKEN_KEY_ID")
    get_settings.cache_clear()

    found = messages.find_message_by_provider_ref("biway", "ref-bc-one")
    alone = messages.get_message("bc-one", recipients_limit=0)

    assert found is not None and found.id == "bc-one"
    assert alone is not None and alone.recipients == [] and alone.next_token is None
    with pytest.raises(ConfigurationError):  # paging recipients still needs the key
        messages.get_message("bc-one", recipients_limit=1)
