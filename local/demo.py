"""`python -m local.demo` (make demo): a scripted scenario to watch, on a fresh local stack.

1. a SmartRegion user is registered through the API;
2. the SmartRegion simulator reports the user connected (its presence webhook);
3. the event is stored, processed from the table's stream, applied to the registration and
   published to EventBridge;
4. a Bi-way message is sent through the API;
5. the Bi-way simulator reports it sent, delivered, then read (its callbacks);
6. the message shows `read`, with its history and its events;
7. the sample bot got every event as a signed webhook; the first attempt of one failed, and the
   retry a second later went through (local/webhooks_demo.py).

Each API call it makes is shown briefly: method, path, request body, status, answer (cut to a
line). Exits non-zero if a step does not happen in time. Provider tokens and the API key are never
printed.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import httpx

from local import webhooks_demo
from local.stack import LocalStack

STEP_TIMEOUT_SECONDS = 30.0
# A body is shown on one line, cut here: enough to see its shape, not a wall of JSON.
SHOWN_BODY_CHARS = 150


class DemoFailedError(RuntimeError):
    pass


def say(text: str = "") -> None:
    print(text, flush=True)


def step(number: int, title: str) -> None:
    say()
    say(f"── {number}. {title}")


def show(label: str, value: Any) -> None:
    say(f"   {label:<22} {value}")


def wait_for(what: str, check: Callable[[], Any], timeout: float = STEP_TIMEOUT_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise DemoFailedError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.2)


def brief(content: bytes) -> str:
    """A JSON body on one line (UTF-8 as is), cut to SHOWN_BODY_CHARS."""
    if not content:
        return ""
    try:
        text = json.dumps(json.loads(content), ensure_ascii=False, separators=(",", ":"))
    except ValueError:
        text = content.decode("utf-8", "replace")
    return text if len(text) <= SHOWN_BODY_CHARS else text[: SHOWN_BODY_CHARS - 1] + "…"


def show_call(response: httpx.Response) -> None:
    """`→ POST /v1/messages {...}` then `← 201 {...}`: the call as the API saw it (never its key header)."""
    request = response.request
    query = request.url.query.decode()
    target = request.url.path + (f"?{query}" if query else "")
    sent = brief(request.content)
    say(f"   → {request.method} {target}" + (f"  {sent}" if sent else ""))
    say(f"   ← {response.status_code}  {brief(response.content)}")


def expect(response: httpx.Response, *statuses: int, shown: bool = True) -> dict[str, Any]:
    """The answer's JSON if its status is one of `statuses`. `shown=False` for polls (the last is shown)."""
    if shown:
        show_call(response)
    if response.status_code not in statuses:
        raise DemoFailedError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )
    body: dict[str, Any] = response.json()
    return body


def print_published(stack: LocalStack, prefix: str, wait_seconds: float = 3.0) -> None:
    assert stack.events is not None
    for event in stack.events.published(wait_seconds=wait_seconds):
        if event["detail-type"].startswith(prefix):
            detail = event["detail"]
            show("EventBridge", f"{event['detail-type']}  (event {detail['id'][:8]}…, outcome {detail['outcome']})")


def run(stack: LocalStack) -> None:
    api = httpx.Client(base_url=stack.api_url, headers={"x-api-key": stack.api_key}, timeout=30)
    assert stack.events is not None

    step(1, "Register a SmartRegion user  (POST /v1/registrations)")
    user_id = f"tg-demo-{uuid.uuid4().hex[:6]}"
    registration = expect(
        api.post(
            "/v1/registrations",
            json={
                "provider": "smartregion",
                "user_id": user_id,
                "payload": "PAYLOAD123",
                "user_field": {"name": "Ivan"},
            },
            headers={"Idempotency-Key": str(uuid.uuid4())},
        ),
        201,
    )
    show("registration", registration["id"])
    show("status", registration["status"])

    step(2, "SmartRegion reports the user connected  (webhook -> POST /v1/callbacks/smartregion/<token>)")
    status = stack.simulator.report_presence(user_id, "connection")
    show("webhook answered", status)
    if status != 200:
        raise DemoFailedError(f"the callback was answered {status}")

    step(3, "The event is stored, processed from the stream, applied and published")

    last: list[httpx.Response] = []

    def processed_events() -> list[dict[str, Any]] | None:
        last[:] = [api.get("/v1/events", params={"registration_id": registration["id"]})]
        items: list[dict[str, Any]] = expect(last[0], 200, shown=False)["items"]
        return items if items and all(e["status"] == "processed" for e in items) else None

    found = wait_for("processing of the presence event", processed_events)
    show_call(last[0])  # the poll that saw it processed
    for event in found:
        show("event", f"{event['type']} -> {event['detail_type']}  ({event['outcome']})")
    presence = expect(api.get(f"/v1/registrations/{registration['id']}"), 200)["presence"]
    show("presence", f"{presence['state']}, last seen {presence['last_seen_at']}")
    print_published(stack, "smartregion.")

    step(4, "Send a Bi-way message  (POST /v1/messages)")
    message = expect(
        api.post(
            "/v1/messages",
            json={"provider": "biway", "recipient": "+33670000000", "text": "Bonjour ! Votre commande est prête."},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        ),
        201,
        202,
    )
    show("message", message["id"])
    show("status", message["status"])

    webhooks_demo.arrange(stack)  # the bot fails the first attempt of the `read` report
    step(5, "Bi-way reports the delivery  (callbacks -> POST /v1/callbacks/biway/<token>)")
    seen: list[str] = []

    def read_yet() -> dict[str, Any] | None:
        last[:] = [api.get(f"/v1/messages/{message['id']}")]
        current = expect(last[0], 200, shown=False)
        for change in current["status_history"][len(seen) :]:
            seen.append(change["status"])
            show("status", f"{change['status']:<10} at {change['at']}")
        return current if current["status"] == "read" else None

    final = wait_for("the read report", read_yet)
    show_call(last[0])
    print_published(stack, "biway.")

    step(6, "The message shows `read`; its provider events  (GET /v1/events?message_id=)")
    show("message status", final["status"])
    events = expect(api.get("/v1/events", params={"message_id": message["id"]}), 200)["items"]
    for event in events:
        show("event", f"{event['type']} {event['state']:<10} {event['outcome']}")

    webhooks_demo.run(stack, api, 7)


def main() -> None:
    # Handlers log JSON to stdout; the demo's own lines are what a person watches (the local stack
    # keeps metrics off unless CHATBRIDGE_DEV_METRICS=1).
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    # Powertools warns when two provider calls in one invocation both set the `provider` metric
    # dimension (chatbridge.observability.record_provider_call); harmless, and noise here.
    warnings.filterwarnings("ignore", message="Dimension 'provider' has already been added")
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("local.stream_poller").setLevel(logging.CRITICAL)
    logging.getLogger("botocore").setLevel(logging.WARNING)  # "Found endpoint for ..." per new client
    say("Starting a fresh local stack (DynamoDB, moto, simulators, API, stream poller)...")
    with LocalStack(api_port=0, table_name=f"chatbridge-demo-{uuid.uuid4().hex[:6]}") as stack:
        show("API", stack.api_url)
        show("DynamoDB", f"{stack.dynamodb_backend} at {stack.dynamodb_endpoint}")
        show("EventBridge bus", stack.events.bus_name if stack.events else "-")
        try:
            run(stack)
        except DemoFailedError as failure:
            say(f"\nDEMO FAILED: {failure}")
            sys.exit(1)
    say("\nDone: every step happened. (The stack is stopped; `make dev` keeps one running.)")


if __name__ == "__main__":
    main()
