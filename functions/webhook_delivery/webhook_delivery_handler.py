"""WebhookDelivery function: signed deliveries of events to the operator's bots, from two queues.

- WebhookEventsQueue, fed by an EventBridge rule with every event of the bus: each message is
  fanned out to the matching subscriptions, and each delivery is attempted at once.
- WebhookDeliveriesQueue: delivery tasks (the retries, replays and recoveries). A failed attempt
  with retries left keeps its message: the message is held (its visibility timeout set to the
  next delay of the schedule) and reported as a batch item failure, so SQS hands it back when the
  next attempt is due. Everything else is reported done, and Lambda deletes the message.

Records run in parallel, and so do the first attempts of one event's deliveries (one pooled HTTP
client, ~15 s timeouts). Nothing here is on the ingestion path: a slow bot delays only itself.
"""

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from chatbridge.logic.deliveries import BusEvent, Deliverer, open_signing_secrets
from chatbridge.observability import logger, metrics, traced
from chatbridge.settings import get_settings
from chatbridge.store.base import get_webhook_store
from chatbridge.store.items import WebhookItem
from chatbridge.webhooks.queue import DeliveryTask, SqsTaskQueue, get_task_queue
from chatbridge.webhooks.sender import sender_pool

# Records of one batch (at most the event source's batch size) and the attempts of one fan-out
# use separate pools: a record waiting for its attempts must never hold the thread they need.
_records = ThreadPoolExecutor(max_workers=10, thread_name_prefix="record")
_attempts = ThreadPoolExecutor(max_workers=16, thread_name_prefix="attempt")


def deliverer(queue: SqsTaskQueue) -> Deliverer:
    settings = get_settings()
    publisher = None
    if settings.event_bus_name:
        from chatbridge.eventbus import get_publisher

        publisher = get_publisher()
    return Deliverer(
        store=get_webhook_store(),
        sender=sender_pool.sender(settings.webhook_url_policy),
        queue=queue,
        secrets=open_signing_secrets,
        publisher=publisher,
        schedule=settings.webhook_retry_schedule,
        parallel=_attempts.map,
    )


def is_task(record: dict[str, Any]) -> bool:
    try:
        body = json.loads(record["body"])
    except ValueError:
        return False
    return isinstance(body, dict) and "delivery_id" in body


def handle_record(
    record: dict[str, Any], queue: SqsTaskQueue, work: Deliverer, subscriptions: list[WebhookItem] | None
) -> bool:
    """True when the message is done with (Lambda deletes it)."""
    body = json.loads(record["body"])
    if isinstance(body, dict) and "delivery_id" in body:
        task = DeliveryTask.model_validate(body)
        outcome = work.run_task(task.delivery_id, task.task_id)
        if outcome.retry_in is None:
            return True
        queue.hold(record["receiptHandle"], outcome.retry_in)
        return False
    work.fan_out(BusEvent.model_validate(body), subscriptions)
    return True


def _safely(
    record: dict[str, Any], queue: SqsTaskQueue, work: Deliverer, subscriptions: list[WebhookItem] | None
) -> bool:
    try:
        return handle_record(record, queue, work, subscriptions)
    except Exception:
        # the message comes back after the queue's visibility timeout, and to the DLQ in the end
        logger.exception("webhook record failed", extra={"message_id": record.get("messageId")})
        return False


@logger.inject_lambda_context(clear_state=True)
@traced
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records: list[dict[str, Any]] = event.get("Records") or []
    queue = get_task_queue()
    work = deliverer(queue)
    # the events of one batch are matched against one read of the subscriptions
    subscriptions = work.store.all_webhooks() if not all(is_task(r) for r in records) else None
    done = list(_records.map(lambda record: _safely(record, queue, work, subscriptions), records))
    return {
        "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r, ok in zip(records, done, strict=True) if not ok]
    }
