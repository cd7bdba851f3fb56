"""The webhook part of `make demo`: what the sample bot received, and one retry.

`arrange` runs before the scenario (the bot will fail the first attempt of the `read` report);
`run` comes after it and shows the signed deliveries the bot verified, the failed attempt, the retry
a second later (the local stack's compressed schedule), and the attempt log the API keeps.
"""

from __future__ import annotations

from typing import Any

import httpx

from local.stack import LocalStack

RETRIED_TYPE_SUFFIX = ".message.read"


def arrange(stack: LocalStack) -> None:
    assert stack.webhooks is not None
    stack.webhooks.bot.fail_first_attempt(lambda payload: str(payload.get("type", "")).endswith(RETRIED_TYPE_SUFFIX))


def run(stack: LocalStack, api: httpx.Client, number: int) -> None:
    from local.demo import DemoFailedError, expect, show, step, wait_for

    assert stack.webhooks is not None
    bot = stack.webhooks.bot
    step(number, "The sample bot received every event, signed (Standard Webhooks), one of them twice")

    def settled() -> bool:
        answered = {d.webhook_id for d in bot.deliveries if d.answered == 200}
        retried = [d for d in bot.deliveries if d.answered == 503]
        return bool(retried) and all(d.webhook_id in answered for d in retried)

    wait_for("the retry of the failed delivery", settled)
    for delivery in bot.deliveries:
        show("bot received", f"{delivery.type:<28} attempt {delivery.attempt}  answered {delivery.answered}")
    if not all(d.verified for d in bot.deliveries):
        raise DemoFailedError("a delivery's signature did not verify")
    show("signatures", f"{len(bot.deliveries)} of {len(bot.deliveries)} verified with the standardwebhooks package")

    retried = next(d for d in bot.deliveries if d.answered == 503)
    log: list[dict[str, Any]] = expect(api.get(f"/v1/webhooks/{stack.webhooks.webhook_id}/deliveries"), 200)["items"]
    say_attempts = [a for a in log if a["delivery_id"] == retried.webhook_id]
    step(number + 1, "The attempt log of the retried delivery  (GET /v1/webhooks/{id}/deliveries)")
    for attempt in reversed(say_attempts):
        show(
            f"attempt {attempt['attempt']}",
            f"{attempt['status']:<9} {attempt['response_status']}  {attempt['latency_ms']} ms  "
            f"({attempt['trigger']}; next attempt {attempt['next_attempt_at'] or '-'})",
        )
    show("webhook-id", f"{retried.webhook_id}  (the same on both attempts: the bot dedupes on it)")
