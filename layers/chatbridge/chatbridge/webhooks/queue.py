"""Delivery tasks on SQS: the retry schedule is kept by the queue, not by a sleeping function.

A task message names a delivery and the task that drives it. Retries keep one message in flight:
the delivery function answers a failed attempt by changing the message's visibility timeout to the
next delay of the schedule and reporting the message as failed, so SQS hands it back when the
attempt is due (a visibility timeout reaches 12 h, the longest delay is 10 h). Re-sending with
DelaySeconds would cap each hop at 15 min: a 10 h delay would take 40 messages. A message starts
its life with DelaySeconds (the first retry after an attempt made straight from the fan-out, a
replay, a recovery); a longer wait is made up by holding it again when it comes early.
"""

from __future__ import annotations

from typing import Any

from chatbridge.errors import ConfigurationError
from chatbridge.models.base import Model

MAX_DELAY_SECONDS = 15 * 60
MAX_VISIBILITY_SECONDS = 12 * 3600


class DeliveryTask(Model):
    """The body of a delivery task message."""

    delivery_id: str
    task_id: str


class SqsTaskQueue:
    """`chatbridge.logic.deliveries.TaskQueue` on the deliveries queue."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def enqueue(self, delivery_id: str, task_id: str, delay_seconds: int) -> None:
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=DeliveryTask(delivery_id=delivery_id, task_id=task_id).model_dump_json(),
            DelaySeconds=max(0, min(delay_seconds, MAX_DELAY_SECONDS)),
        )

    def hold(self, receipt_handle: str, seconds: int) -> None:
        """Make a received message visible again in `seconds` (it then comes back to the function)."""
        self._client.change_message_visibility(
            QueueUrl=self._queue_url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=max(0, min(seconds, MAX_VISIBILITY_SECONDS)),
        )


def get_task_queue() -> SqsTaskQueue:
    from chatbridge.aws import sqs_client
    from chatbridge.settings import get_settings

    url = get_settings().webhook_deliveries_queue_url
    if not url:
        raise ConfigurationError("WEBHOOK_DELIVERIES_QUEUE_URL is not set: deliveries cannot be queued.")
    return SqsTaskQueue(sqs_client(), url)
