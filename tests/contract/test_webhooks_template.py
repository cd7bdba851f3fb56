"""template.yaml's promises about webhooks to bots: the delivery path is EventBridge -> SQS -> a
delivery function, off the ingestion path, with a retry schedule SQS can hold."""

from __future__ import annotations

import json
from typing import Any

from chatbridge.settings import DEFAULT_RETRY_SCHEDULE, MAX_RETRY_DELAY
from local.template import http_routes, load_template

WEBHOOK_ROUTES = {
    "POST /v1/webhooks",
    "GET /v1/webhooks",
    "GET /v1/webhooks/{id}",
    "PATCH /v1/webhooks/{id}",
    "DELETE /v1/webhooks/{id}",
    "POST /v1/webhooks/{id}/rotate-secret",
    "GET /v1/webhooks/{id}/deliveries",
    "POST /v1/webhooks/{id}/recover",
    "GET /v1/event-types",
    "POST /v1/events/{id}/replay",
}


def resource(name: str) -> dict[str, Any]:
    found: dict[str, Any] = load_template()["Resources"][name]
    return found


def actions(function: str) -> dict[str, list[Any]]:
    """Each action the function's policies allow, with every resource it is allowed on."""
    policies = resource(function)["Properties"].get("Policies", [])
    statements = [s for p in policies for s in p["Statement"]]
    allowed: dict[str, list[Any]] = {}
    for statement in statements:
        for action in statement["Action"]:
            allowed.setdefault(action, []).append(statement["Resource"])
    return allowed


def test_every_event_of_the_bus_reaches_the_fan_out_queue_and_only_the_rule_may_send_to_it() -> None:
    rule = resource("WebhookEventsRule")["Properties"]
    assert rule["EventBusName"] == {"Ref": "EventBus"}
    assert rule["EventPattern"] == {"source": ["chatbridge"]}
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": "WebhookEventsQueue.Arn"}
    (statement,) = resource("WebhookEventsQueuePolicy")["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": "WebhookEventsRule.Arn"}


def test_the_delivery_function_reads_both_queues_and_reports_failures_per_message() -> None:
    function = resource("WebhookDeliveryFunction")["Properties"]
    sources = {e["Properties"]["Queue"]["Fn::GetAtt"] for e in function["Events"].values() if e["Type"] == "SQS"}
    assert sources == {"WebhookEventsQueue.Arn", "WebhookDeliveriesQueue.Arn"}
    for event in function["Events"].values():
        assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    for queue in ("WebhookEventsQueue", "WebhookDeliveriesQueue"):
        props = resource(queue)["Properties"]
        # Lambda's advice for SQS sources: a visibility timeout of six times the function's timeout
        assert props["VisibilityTimeout"] >= 6 * function["Timeout"]
        assert props["SqsManagedSseEnabled"] is True
        assert props["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": "WebhookDeadLetterQueue.Arn"}


def test_the_schedule_fits_what_the_queue_can_hold() -> None:
    props = resource("WebhookDeliveriesQueue")["Properties"]
    assert max(DEFAULT_RETRY_SCHEDULE) <= MAX_RETRY_DELAY == 12 * 3600  # a visibility timeout's limit
    assert props["MessageRetentionPeriod"] > sum(DEFAULT_RETRY_SCHEDULE)
    # one message carries a delivery through its attempts: one receive per retry, and room for crashes
    assert props["RedrivePolicy"]["maxReceiveCount"] > len(DEFAULT_RETRY_SCHEDULE)


def test_the_ingestion_path_knows_nothing_of_webhooks() -> None:
    for function in ("CallbacksFunction", "EventsProcessorFunction"):
        props = resource(function)["Properties"]
        assert "Webhook" not in json.dumps(props.get("Policies", [])), function
        assert not any(name.startswith("WEBHOOK_") for name in (props.get("Environment") or {}).get("Variables", {}))


SECRETS_KEY = {"Fn::GetAtt": "WebhookSecretsKey.Arn"}


def test_only_the_delivery_function_may_open_signing_secrets() -> None:
    openers = [
        name
        for name, r in load_template()["Resources"].items()
        if r["Type"] == "AWS::Serverless::Function" and SECRETS_KEY in actions(name).get("kms:Decrypt", [])
    ]
    assert openers == ["WebhookDeliveryFunction"]
    assert SECRETS_KEY in actions("WebhooksFunction")["kms:Encrypt"]
    # it opens pagination tokens only (its own key), never a signing secret
    assert actions("WebhooksFunction")["kms:Decrypt"] == [{"Fn::GetAtt": "PageTokenKey.Arn"}]


def test_answers_that_carry_secrets_are_not_recorded_in_traces() -> None:
    variables = resource("WebhooksFunction")["Properties"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"


def test_the_webhook_routes_need_an_api_key() -> None:
    routes = {r.route_key: r for r in http_routes() if r.function == "WebhooksFunction"}
    assert set(routes) == WEBHOOK_ROUTES
    assert not any(r.public for r in routes.values())


def test_the_redrive_reads_the_stream_and_the_events_dead_letter_queue_only() -> None:
    granted = actions("EventsRedriveFunction")
    assert granted["dynamodb:GetRecords"] == [{"Fn::GetAtt": "ChatbridgeTable.StreamArn"}]
    assert granted["sqs:ReceiveMessage"] == [{"Fn::GetAtt": "EventsDeadLetterQueue.Arn"}]
    assert granted["sqs:DeleteMessage"] == [{"Fn::GetAtt": "EventsDeadLetterQueue.Arn"}]
    variables = resource("EventsRedriveFunction")["Properties"]["Environment"]["Variables"]
    assert variables["EVENTS_DEAD_LETTER_QUEUE_URL"] == {"Ref": "EventsDeadLetterQueue"}
