"""Webhooks to bots in the local stack: the deployed delivery path, on moto, with a sample bot.

- the EventBridge rule of template.yaml (WebhookEventsRule) on the local bus, targeting the local
  WebhookEventsQueue, with the queues' attributes (visibility timeouts, redrive policies) from the
  template;
- one SQS poller per `Type: SQS` event (local.sqs_poller), invoking the real WebhookDelivery
  handler: the same fan-out, signatures, schedule and visibility holds as on AWS, with the schedule
  compressed to seconds (WEBHOOK_RETRY_SCHEDULE) and http to 127.0.0.1 allowed (WEBHOOK_URL_POLICY);
- the sample bot (local.bot_receiver), subscribed through the API to every event type.

The queues themselves are created, by logical id, with the events pipeline's.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import boto3
import httpx

from local.bot_receiver import BotReceiver, Printer
from local.lambda_runtime import ACCOUNT_ID, lambda_context_for, load_handler
from local.seed import WEBHOOK_SECRETS_KEY_ALIAS
from local.sqs_poller import SqsPoller, queue_attributes, queue_mappings, wait_until_empty
from local.template import functions, load_template

log = logging.getLogger(__name__)

# immediately, then 1, 2, 4, 8, 16, 32, 64 s: the shape of the deployed schedule, in a minute
LOCAL_RETRY_SCHEDULE = "0,1,2,4,8,16,32,64"
RULE = "WebhookEventsRule"


def queue_url(moto_endpoint: str, logical_id: str) -> str:
    return f"{moto_endpoint}/{ACCOUNT_ID}/{logical_id}"


def queue_arn(region: str, logical_id: str) -> str:
    return f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{logical_id}"


def webhook_environment(moto_endpoint: str, dynamodb_endpoint: str) -> dict[str, str]:
    """What template.yaml gives the webhook functions (and the redrive), pointed at the local stack."""
    return {
        "WEBHOOK_DELIVERIES_QUEUE_URL": queue_url(moto_endpoint, "WebhookDeliveriesQueue"),
        "WEBHOOK_SECRETS_KEY_ID": WEBHOOK_SECRETS_KEY_ALIAS,
        "WEBHOOK_RETRY_SCHEDULE": os.environ.get("WEBHOOK_RETRY_SCHEDULE", LOCAL_RETRY_SCHEDULE),
        "WEBHOOK_URL_POLICY": "local",
        "EVENTS_DEAD_LETTER_QUEUE_URL": queue_url(moto_endpoint, "EventsDeadLetterQueue"),
        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": dynamodb_endpoint,
    }


def _client(service: str, endpoint_url: str, region: str) -> Any:
    factory: Any = boto3.client
    return factory(
        service, endpoint_url=endpoint_url, region_name=region, aws_access_key_id="local", aws_secret_access_key="local"
    )


@dataclass
class LocalWebhooks:
    """start(api_url, api_key)/stop(); `bot` and `webhook_id` once started."""

    region: str
    moto_endpoint: str
    bus_name: str
    echo: Printer | None = None
    bot: BotReceiver = field(init=False)
    webhook_id: str = ""
    pollers: list[SqsPoller] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.bot = BotReceiver(echo=self.echo)

    def start(self, api_url: str, api_key: str) -> LocalWebhooks:
        sqs = _client("sqs", self.moto_endpoint, self.region)
        self._configure_queues(sqs)
        self._route_the_bus()
        for mapping in queue_mappings():
            info = functions()[mapping.function]
            poller = SqsPoller(
                mapping,
                load_handler(info),
                sqs=sqs,
                queue_url=queue_url(self.moto_endpoint, mapping.queue),
                queue_arn=queue_arn(self.region, mapping.queue),
                region=self.region,
                context_factory=partial(lambda_context_for, info, self.region),
            )
            self.pollers.append(poller.start())
        self.bot.start()
        self._subscribe_the_bot(api_url, api_key)
        return self

    def stop(self) -> None:
        for poller in self.pollers:
            poller.stop()
        self.pollers.clear()
        self.bot.stop()

    def wait_until_delivered(self, timeout: float = 30.0) -> bool:
        """True once the webhook queues are empty (every delivery settled or failed)."""
        sqs = _client("sqs", self.moto_endpoint, self.region)
        urls = [queue_url(self.moto_endpoint, m.queue) for m in queue_mappings()]
        return wait_until_empty(sqs, urls, timeout)

    # -- steps ---------------------------------------------------------------------------------

    def _configure_queues(self, sqs: Any) -> None:
        for logical_id, queue in load_template()["Resources"].items():
            if queue["Type"] != "AWS::SQS::Queue" or not logical_id.startswith("Webhook"):
                continue
            url = sqs.create_queue(QueueName=logical_id)["QueueUrl"]  # exists already: answers its URL
            attributes = queue_attributes(logical_id, partial(queue_arn, self.region))
            if attributes:
                sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)

    def _route_the_bus(self) -> None:
        """WebhookEventsRule as the template declares it, on the local bus."""
        props = load_template()["Resources"][RULE]["Properties"]
        events = _client("events", self.moto_endpoint, self.region)
        events.put_rule(Name=RULE, EventBusName=self.bus_name, EventPattern=json.dumps(props["EventPattern"]))
        targets = [
            {"Id": target["Id"], "Arn": queue_arn(self.region, target["Arn"]["Fn::GetAtt"].split(".")[0])}
            for target in props["Targets"]
        ]
        events.put_targets(Rule=RULE, EventBusName=self.bus_name, Targets=targets)

    def _subscribe_the_bot(self, api_url: str, api_key: str) -> None:
        answer = httpx.post(
            f"{api_url}/v1/webhooks",
            headers={"x-api-key": api_key},
            json={"url": self.bot.url, "event_types": ["*"], "description": "local sample bot (local/bot_receiver.py)"},
            timeout=30,
        )
        answer.raise_for_status()
        created = answer.json()
        self.webhook_id = created["id"]
        self.bot.add_secret(created["secret"])
