"""The asynchronous half of the local stack: the table's stream feeding the events processor, the
EventBridge bus it publishes to, and the dead-letter queue (moto for EventBridge and SQS).

Resources are named after template.yaml's logical ids. A rule on the bus copies every event to a
"tap" queue, so the demo and the tests can watch what was published.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import boto3

from local.lambda_runtime import function_arn, lambda_context_for, load_handler
from local.stream_poller import StreamPoller, event_bus_logical_ids, stream_mappings
from local.template import functions

LOCAL_EVENT_BUS = "chatbridge-local-events"
TAP_QUEUE = "chatbridge-local-event-tap"
TAP_RULE = "chatbridge-local-everything"


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
    tap_queue_url: str = ""
    pollers: list[StreamPoller] = field(default_factory=list)

    def start(self) -> EventsPipeline:
        sqs = _client("sqs", self.moto_endpoint, self.region)
        events = _client("events", self.moto_endpoint, self.region)
        queues = self._create_queues(sqs)
        if event_bus_logical_ids():
            events.create_event_bus(Name=self.bus_name)
            self.tap_queue_url = sqs.create_queue(QueueName=TAP_QUEUE)["QueueUrl"]
            tap_arn = sqs.get_queue_attributes(QueueUrl=self.tap_queue_url, AttributeNames=["QueueArn"])
            events.put_rule(
                Name=TAP_RULE, EventBusName=self.bus_name, EventPattern=json.dumps({"source": [{"prefix": ""}]})
            )
            events.put_targets(
                Rule=TAP_RULE,
                EventBusName=self.bus_name,
                Targets=[{"Id": "tap", "Arn": tap_arn["Attributes"]["QueueArn"]}],
            )
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
        for poller in self.pollers:
            poller.stop()
        self.pollers.clear()

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
        """Events published to the bus since the last call (read from the tap queue)."""
        return self._drain(self.tap_queue_url, wait_seconds)

    def tap_size(self) -> int:
        """Events the tap holds, waiting for a reader."""
        if not self.tap_queue_url:
            return 0
        sqs = _client("sqs", self.moto_endpoint, self.region)
        answer = sqs.get_queue_attributes(QueueUrl=self.tap_queue_url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(answer["Attributes"]["ApproximateNumberOfMessages"])

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
