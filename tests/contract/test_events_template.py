"""template.yaml's promises about provider webhooks and the events processor."""

from __future__ import annotations

import json
from typing import Any

from local.template import http_routes, load_template, resources


def processor() -> dict[str, Any]:
    properties: dict[str, Any] = load_template()["Resources"]["EventsProcessorFunction"]["Properties"]
    return properties


def statements(function: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in load_template()["Resources"][function]["Properties"]["Policies"]:
        found.extend(policy["Statement"])
    return found


def test_the_processor_reads_only_new_events_registrations_and_messages_and_fails_per_record() -> None:
    (event,) = processor()["Events"].values()
    props = event["Properties"]
    assert event["Type"] == "DynamoDB"
    assert props["Stream"] == {"Fn::GetAtt": "ChatbridgeTable.StreamArn"}
    events, resources_ = [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]]
    assert events == {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"entity": {"S": ["event"]}}}}
    # a new registration or message (not a recipient item, not an update): its late events apply
    assert resources_ == {"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"S": ["REG", "MSG"]}}}}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert 0 < props["MaximumRetryAttempts"] <= 10
    assert props["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": "EventsDeadLetterQueue.Arn"},
    }


def test_the_processor_may_publish_to_its_bus_and_dead_letter_to_its_queue_only() -> None:
    assert processor()["Environment"]["Variables"]["EVENT_BUS_NAME"] == {"Ref": "EventBus"}
    by_action = {action: s["Resource"] for s in statements("EventsProcessorFunction") for action in s["Action"]}
    assert by_action["events:PutEvents"] == {"Fn::GetAtt": "EventBus.Arn"}
    assert by_action["sqs:SendMessage"] == {"Fn::GetAtt": "EventsDeadLetterQueue.Arn"}
    assert "dynamodb:PutItem" not in by_action  # it updates what ingestion stored, never creates
    assert resources("AWS::Events::EventBus")
    assert resources("AWS::SQS::Queue")["EventsDeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"] is True


def test_the_webhook_route_is_public_and_the_events_route_is_not() -> None:
    routes = {r.route_key: r for r in http_routes() if r.function == "CallbacksFunction"}
    assert routes["POST /v1/callbacks/{provider}/{token}"].public is True
    assert routes["GET /v1/events"].public is False


def test_the_callbacks_function_reads_only_the_webhook_tokens_secret() -> None:
    secret_resources = [
        s["Resource"]["Fn::Sub"]
        for s in statements("CallbacksFunction")
        if any(a.startswith("secretsmanager:") for a in s["Action"])
    ]
    assert secret_resources == [
        "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${SecretsPrefix}/callbacks-??????"
    ]
