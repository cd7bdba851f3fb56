"""Exactly once across processes: two identical POSTs with one Idempotency-Key, each handled by the
real handler in a process of its own (two execution environments; the dev server would serialise
them), against DynamoDB Local and the provider simulators over real sockets, make one provider call.

The provider is slowed down so that the two invocations overlap: the second finds the first one's
record in progress (409) or, once it is done, replays its answer.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from local.stack import LocalStack
from tests.integration.processes import invoke_at_once
from tests.support import api_event

SMARTICO_PASSWORD = "Q!w2e3r4Secret"


def phone() -> str:
    return f"+336{uuid.uuid4().int % 10**8:08d}"


def eventually(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(response["body"])
    return body


def consistent(first: dict[str, Any], second: dict[str, Any], status: int) -> dict[str, Any]:
    """One answer and its replay, or one answer and a 409 'in progress'; the answer."""
    pair = sorted([first, second], key=lambda r: r["statusCode"] == 409)
    answer, other = pair
    assert answer["statusCode"] == status, answer["body"]
    if other["statusCode"] == 409:
        assert body_of(other)["title"] == "Request in progress"
    else:
        assert (other["statusCode"], body_of(other)) == (status, body_of(answer))
    return body_of(answer)


def submits_to(stack: LocalStack, recipient: str) -> int:
    return len([r for r in stack.biway.calls("/messenger/submit") if (r.body or {}).get("recipient") == recipient])


def test_two_processes_with_one_key_send_one_message(stack: LocalStack) -> None:
    recipient = phone()
    key = str(uuid.uuid4())
    event = api_event(
        "POST",
        "/v1/messages",
        body={"provider": "biway", "recipient": recipient, "text": "une seule fois"},
        headers={"idempotency-key": key},
    )
    stack.biway.delay_next(1.5)  # the first call is still at Bi-way when the second process asks

    first, second = invoke_at_once("messaging_handler", [event, event])

    message = consistent(first, second, 201)
    assert submits_to(stack, recipient) == 1
    # and once both are done, the same key replays the answer
    (replay,) = invoke_at_once("messaging_handler", [event])
    assert (replay["statusCode"], body_of(replay)) == (201, message)
    assert submits_to(stack, recipient) == 1


def test_two_processes_with_one_key_after_a_lost_answer_send_once_and_agree_it_is_unknown(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipient = phone()
    event = api_event(
        "POST",
        "/v1/messages",
        body={"provider": "biway", "recipient": recipient, "text": "réponse perdue"},
        headers={"idempotency-key": str(uuid.uuid4())},
    )
    # Bi-way takes the message, then answers after our read timeout (the processes read the environment)
    monkeypatch.setenv("PROVIDER_READ_TIMEOUT", "0.5")
    stack.biway.delay_next(2.0)

    first, second = invoke_at_once("messaging_handler", [event, event])

    problem = consistent(first, second, 504)
    assert problem["type"].endswith("/outcome-unknown")
    (replay,) = invoke_at_once("messaging_handler", [event])
    assert (replay["statusCode"], body_of(replay)) == (504, problem)
    assert replay["headers"]["Location"] == f"/v1/messages/{problem['id']}"
    assert submits_to(stack, recipient) == 1
    # Bi-way did take it: the answer was lost, not the message
    assert eventually(lambda: any(r.data.get("recipient") == recipient for r in list(stack.biway.resources.values())))


def test_two_processes_registering_one_affiliate_with_one_key_call_smartico_once(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    username = f"aff{uuid.uuid4().hex[:10]}"
    body = {
        "provider": "smartico",
        "first_name": "Maria",
        "last_name": "Ivanova",
        "bo_user_email": f"{username}@example.com",
        "username": username,
        "password": SMARTICO_PASSWORD,
        "country": "BG",
        "tc": True,
        "token": "recaptcha-token",
    }
    event = api_event("POST", "/v1/registrations", body=body, headers={"idempotency-key": str(uuid.uuid4())})
    monkeypatch.setenv("PROVIDER_READ_TIMEOUT", "0.5")
    stack.smartico.delay_next(2.0)

    first, second = invoke_at_once("registrations_handler", [event, event])

    problem = consistent(first, second, 504)
    calls = [r for r in stack.smartico.calls("/api/register-aff") if (r.body or {}).get("username") == username]
    assert len(calls) == 1
    (replay,) = invoke_at_once("registrations_handler", [event])
    assert (replay["statusCode"], body_of(replay)) == (504, problem)
    assert SMARTICO_PASSWORD not in replay["body"]
