"""The asynchronous half of the local stack: the table's stream feeding the events processor, the
EventBridge bus it publishes to, and the dead-letter queue (moto for EventBridge and SQS).

Resources are named after template.yaml's logical ids. A rule on the bus copies every event to a
"tap" queue, so the demo and the tests can watch what was published. A reader drains the tap as
it fills and keeps the last `TAP_KEEPS` events in memory: an undrained queue would grow for as long
as `make dev` runs, and moto's SQS slows down with the size of a queue (issue 15).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import boto3

from local.lambda_runtime import function_arn, lambda_context_for, load_handler
from local.stream_poller import StreamPoller, event_bus_logical_ids, stream_mappings
from local.template import functions

log = logging.getLogger(__name__)

LOCAL_EVENT_BUS = "chatbridge-local-events"
TAP_QUEUE = "chatbridge-local-event-tap"
TAP_RULE = "chatbridge-local-everything"
# The recent past the tap remembers: far more than a test or the demo publishes between two reads.
TAP_KEEPS = 1_000
TAP_READ_INTERVAL_SECONDS = 0.5  # how often the reader drains the tap queue


class EventTap:
    """The events the tap queue received, drained as they come; the last `keeps` of them kept.

    One lock around each drain (receive, delete, remember) keeps the events in the queue's order
    whoever drains: the background reader, or `published()` when it must not wait for it.
    """

    def __init__(self, sqs: Any, queue_url: str, keeps: int = TAP_KEEPS) -> None:
        self._sqs = sqs
        self.queue_url = queue_url
        self._recent: deque[tuple[int, dict[str, Any]]] = deque(maxlen=keeps)
        self._received = 0  # events drained so far; numbers the recent ones
        self._read_up_to = 0  # `published()` has returned every event numbered below this
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> EventTap:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="event-tap", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping.set()
            thread.join(timeout=10)

    @property
    def received(self) -> int:
        return self._received

    def kept(self) -> int:
        return len(self._recent)

    def queued(self) -> int:
        """Messages waiting in the tap queue (drained, it stays near 0)."""
        answer = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(answer["Attributes"]["ApproximateNumberOfMessages"])

    def drain(self) -> int:
        """Move what the queue holds into memory; the number of events moved."""
        moved = 0
        with self._lock:
            while True:
                answer = self._sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
                messages = answer.get("Messages", [])
                if not messages:
                    return moved
                for message in messages:
                    self._recent.append((self._received, json.loads(message["Body"])))
                    self._received += 1
                self._sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
                )
                moved += len(messages)

    def unread(self) -> list[dict[str, Any]]:
        """Events not returned before (those pushed out of the recent ones meanwhile are lost)."""
        with self._lock:
            found = [event for number, event in self._recent if number >= self._read_up_to]
            self._read_up_to = self._received
        return found

    def _run(self) -> None:
        # time.sleep, not Event.wait(timeout): under faketime (make unit-future) a timed wait on a
        # condition variable never returns, and the reader would never drain.
        while not self._stopping.is_set():
            time.sleep(TAP_READ_INTERVAL_SECONDS)
            if self._stopping.is_set():
                return
            try:
                self.drain()
            except Exception:
                log.error("event tap reader failed:\n%s", traceback.format_exc())


def _client(service: str, endpoint_url: str, region: str) -> Any:
    factory: Any = boto3.client  # typed per literal service name; these are chosen at run time
    return factory(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


@dataclass
class EventsPipeline:
    """start()/stop(); the bus, queues and poller exist once started."""

    region: str
    dynamodb_endpoint: str
    moto_endpoint: str
    table_name: str
    bus_name: str = LOCAL_EVENT_BUS
    dead_letter_queue_url: str = ""
    tap: EventTap | None = None
    pollers: list[StreamPoller] = field(default_factory=list)

    def start(self) -> EventsPipeline:
        sqs = _client("sqs", self.moto_endpoint, self.region)
        events = _client("events", self.moto_endpoint, self.region)
        queues = self._create_queues(sqs)
        if event_bus_logical_ids():
            events.create_event_bus(Name=self.bus_name)
            tap_queue_url = sqs.create_queue(QueueName=TAP_QUEUE)["QueueUrl"]
            tap_arn = sqs.get_queue_attributes(QueueUrl=tap_queue_url, AttributeNames=["QueueArn"])
            events.put_rule(
                Name=TAP_RULE, EventBusName=self.bus_name, EventPattern=json.dumps({"source": [{"prefix": ""}]})
            )
            events.put_targets(
                Rule=TAP_RULE,
                EventBusName=self.bus_name,
                Targets=[{"Id": "tap", "Arn": tap_arn["Attributes"]["QueueArn"]}],
            )
            # Drained while the stack runs, whether or not its handlers run here (the SAM runner's
            # Lambda containers publish to the same bus).
            self.tap = EventTap(sqs, tap_queue_url).start()
        dynamodb = _client("dynamodb", self.dynamodb_endpoint, self.region)
        stream_arn = dynamodb.describe_table(TableName=self.table_name)["Table"]["LatestStreamArn"]
        streams = _client("dynamodbstreams", self.dynamodb_endpoint, self.region)
        for mapping in stream_mappings():
            info = functions()[mapping.function]
            destination = queues.get(mapping.on_failure or "")
            if destination:
                self.dead_letter_queue_url = destination
            poller = StreamPoller(
                mapping,
                load_handler(info),
                streams_client=streams,
                stream_arn=stream_arn,
                context_factory=partial(lambda_context_for, info, self.region),
                send_to_dlq=self._sender(sqs, destination) if destination else None,
                function_arn=function_arn(mapping.function, self.region),
            )
            self.pollers.append(poller.start())
        return self

    def stop(self) -> None:
        """Stop consuming the stream; the tap keeps being drained until `close()`."""
        for poller in self.pollers:
            poller.stop()
        self.pollers.clear()

    def close(self) -> None:
        self.stop()
        if self.tap is not None:
            self.tap.stop()

    def pause(self) -> None:
        for poller in self.pollers:
            poller.pause()

    def resume(self) -> None:
        for poller in self.pollers:
            poller.resume()

    def delivered(self) -> int:
        """Records the pollers handed to their functions successfully so far."""
        return sum(poller.delivery.stats.delivered for poller in self.pollers)

    def _create_queues(self, sqs: Any) -> dict[str, str]:
        from local.stream_poller import queue_logical_ids

        return {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in queue_logical_ids()}

    @staticmethod
    def _sender(sqs: Any, queue_url: str) -> Any:
        def send(message: dict[str, Any]) -> None:
            sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(message))

        return send

    # -- watching (demo, tests) --------------------------------------------------------------------

    def wait_until_processed(self, timeout: float = 15.0) -> bool:
        return all(poller.wait_until_idle(timeout) for poller in self.pollers)

    def published(self, wait_seconds: float = 0.0) -> list[dict[str, Any]]:
        """Events published to the bus since the last call, waiting up to `wait_seconds` for one.

        Of the events published since, the last TAP_KEEPS (the tap remembers no more)."""
        if self.tap is None:
            return []
        deadline = time.monotonic() + wait_seconds
        while True:
            self.tap.drain()  # what reached the queue since the reader's last turn, too
            found = self.tap.unread()
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(0.1)

    def dead_letters(self, wait_seconds: float = 0.0) -> list[dict[str, Any]]:
        return self._drain(self.dead_letter_queue_url, wait_seconds)

    def _drain(self, queue_url: str, wait_seconds: float) -> list[dict[str, Any]]:
        if not queue_url:
            return []
        sqs = _client("sqs", self.moto_endpoint, self.region)
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait_seconds
        while True:
            answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = answer.get("Messages", [])
            for message in messages:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            if messages:
                continue
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(0.1)
