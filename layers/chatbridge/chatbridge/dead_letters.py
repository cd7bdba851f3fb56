"""The events processor's dead-letter queue (its stream event source's on-failure destination)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chatbridge.errors import ConfigurationError

# A message received for a redrive stays invisible this long; one that is kept comes back after it.
VISIBILITY_SECONDS = 120


@dataclass(frozen=True)
class DeadLetter:
    receipt: str
    body: dict[str, Any]


class SqsDeadLetters:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def receive(self, limit: int) -> list[DeadLetter]:
        answer = self._client.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=max(1, min(limit, 10)),
            VisibilityTimeout=VISIBILITY_SECONDS,
            WaitTimeSeconds=0,
        )
        letters = []
        for message in answer.get("Messages", []):
            try:
                body = json.loads(message["Body"])
            except ValueError:
                body = {}
            letters.append(DeadLetter(receipt=message["ReceiptHandle"], body=body if isinstance(body, dict) else {}))
        return letters

    def delete(self, receipt: str) -> None:
        self._client.delete_message(QueueUrl=self._queue_url, ReceiptHandle=receipt)


def get_dead_letters(queue_url: str | None = None) -> SqsDeadLetters:
    from chatbridge.aws import sqs_client
    from chatbridge.settings import get_settings

    url = queue_url or get_settings().events_dead_letter_queue_url
    if not url:
        raise ConfigurationError("EVENTS_DEAD_LETTER_QUEUE_URL is not set: there is no queue to redrive.")
    return SqsDeadLetters(sqs_client(), url)
