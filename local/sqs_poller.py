"""Lambda's SQS event source mapping, emulated for the local stack (moto's SQS).

Everything comes from the function's `Type: SQS` events in template.yaml: the queue, the batch size
and ReportBatchItemFailures. Semantics follow Lambda's documentation for SQS:

- messages are received in batches (long polling) and handed to the function as `Records`;
- a batch that returns no `batchItemFailures` is deleted; with ReportBatchItemFailures, the messages
  it names stay in the queue (they come back when their visibility timeout ends, which the function
  may have changed), the others are deleted; an unknown identifier, an exception or an unreadable
  answer leaves the whole batch in the queue;
- the queue's own redrive policy (maxReceiveCount) moves a message that keeps failing to its
  dead-letter queue (moto does that, as SQS does).

The handler runs in this process through local.lambda_runtime.invoke, one invocation at a time,
like the stream poller's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.lambda_runtime import Handler, invoke
from local.template import resources

log = logging.getLogger(__name__)

WAIT_SECONDS = 1  # long polling: a new message is picked up at once, an idle queue costs one call a second


@dataclass(frozen=True)
class QueueMapping:
    function: str
    queue: str  # logical id (the local queue's name)
    batch_size: int = 10
    report_batch_item_failures: bool = False


def queue_mappings() -> list[QueueMapping]:
    """Every `Type: SQS` event of template.yaml's functions."""
    found = []
    for name, function in resources("AWS::Serverless::Function").items():
        for event in (function["Properties"].get("Events") or {}).values():
            if event["Type"] != "SQS":
                continue
            props = event["Properties"]
            target = props["Queue"]["Fn::GetAtt"]
            queue = target.split(".")[0] if isinstance(target, str) else target[0]
            found.append(
                QueueMapping(
                    function=name,
                    queue=queue,
                    batch_size=int(props.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                )
            )
    return found


@dataclass
class PollerStats:
    invocations: int = 0
    received: int = 0
    deleted: int = 0
    failed: int = 0
    errors: int = 0


@dataclass
class SqsPoller:
    """Polls one queue and feeds one function, as one event source mapping does."""

    mapping: QueueMapping
    handler: Handler
    sqs: Any
    queue_url: str
    queue_arn: str
    region: str
    context_factory: Callable[[], Any]
    stats: PollerStats = field(default_factory=PollerStats)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> SqsPoller:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name=f"sqs-{self.mapping.queue}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping.set()
            thread.join(timeout=WAIT_SECONDS + 10)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once(WAIT_SECONDS)
            except Exception:
                if self._stopping.is_set():
                    return
                log.error("sqs poller of %s failed:\n%s", self.mapping.queue, traceback.format_exc())
                self._stopping.wait(1.0)

    def poll_once(self, wait_seconds: int = 0) -> int:
        answer = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(self.mapping.batch_size, 10),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = answer.get("Messages", [])
        if messages:
            self._deliver(messages)
        return len(messages)

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        self.stats.received += len(messages)
        records = [self._record(m) for m in messages]
        self.stats.invocations += 1
        try:
            answer = invoke(self.handler, {"Records": records}, self.context_factory)
        except Exception:
            self.stats.errors += 1
            log.warning("%s failed on a batch of %d:\n%s", self.mapping.function, len(records), traceback.format_exc())
            return
        failed = self._failed_ids(answer, {r["messageId"] for r in records})
        if failed is None:
            self.stats.errors += 1
            return
        self.stats.failed += len(failed)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            entries = [
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done[start : start + 10])
            ]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        self.stats.deleted += len(done)

    def _failed_ids(self, answer: Any, known: set[str]) -> set[str] | None:
        """The messages to leave in the queue; None when the whole batch must stay."""
        if not self.mapping.report_batch_item_failures or answer is None:
            return set()
        failures = answer.get("batchItemFailures") if isinstance(answer, dict) else None
        if failures is None:
            return set()
        if not isinstance(failures, list):
            return None
        ids = {f.get("itemIdentifier") for f in failures if isinstance(f, dict)}
        if len(ids) != len(failures) or not ids <= known:
            return None  # Lambda fails the whole batch on an empty or unknown identifier
        return {i for i in ids if isinstance(i, str)}

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        body = message["Body"]
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": body,
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        }


def queue_attributes(logical_id: str, arn_of: Callable[[str], str]) -> dict[str, str]:
    """The template's attributes of a queue, as SetQueueAttributes takes them."""
    props = resources("AWS::SQS::Queue")[logical_id].get("Properties", {})
    attributes = {}
    for name in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds"):
        if name in props:
            attributes[name] = str(props[name])
    policy = props.get("RedrivePolicy")
    if policy:
        target = policy["deadLetterTargetArn"]["Fn::GetAtt"]
        dead_letters = target.split(".")[0] if isinstance(target, str) else target[0]
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": arn_of(dead_letters), "maxReceiveCount": int(policy["maxReceiveCount"])}
        )
    return attributes


def wait_until_empty(sqs: Any, queue_urls: list[str], timeout: float) -> bool:
    """True once no queue holds a message, visible or in flight (or delayed)."""
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    deadline = time.monotonic() + timeout
    while True:
        counts = [
            sum(int(v) for v in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"].values())
            for url in queue_urls
        ]
        if not any(counts):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
