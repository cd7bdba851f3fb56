"""Every events/ file, invoked as `sam local invoke -e` would, against the seeded account.

The plan (local/event_files.py) and the seed (local/seed.py) are the ones `make sam-local` runs
under the real SAM CLI: each folder's `_expected.json` names the function and, in order, what each
file must answer; here the handlers run in this process, with moto for AWS and each provider's
simulator behind httpx.MockTransport.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chatbridge.clock import derived_id
from chatbridge.edge.paths import CATCH_ALL_ROUTE
from chatbridge.integrations.http import http_pool
from local import event_files, seed
from local.events_pipeline import LOCAL_EVENT_BUS
from local.template import functions, http_routes
from tests.simulated import SimulatorFake
from tests.support import ProviderFakes, body_of
from tests.unit.events_support import bus_tap

# What the seeded provider connections point at: the simulators, reached through MockTransport.
BASE_URLS = {provider: f"https://{provider}.seed.test" for provider in seed.PROVIDERS}


def handler_of(function_name: str) -> Callable[[dict[str, Any], Any], Any]:
    info = functions()[function_name]
    handler: Callable[[dict[str, Any], Any], Any] = getattr(importlib.import_module(info.module), info.attribute)
    return handler


@pytest.fixture
def seeded(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The seeded account in moto, the seeded simulators, and a reader of what reached the event bus."""
    for name, value in {
        "TABLE_NAME": seed.TABLE_NAME,
        "SECRETS_PREFIX": seed.SECRETS_PREFIX,
        "CREDENTIALS_KEY_ID": seed.CREDENTIALS_KEY_ALIAS,
        "EVENT_BUS_NAME": LOCAL_EVENT_BUS,
        "PAGE_TOKEN_KEY_ID": seed.PAGE_TOKEN_KEY_ALIAS,
        "WEBHOOK_SECRETS_KEY_ID": seed.WEBHOOK_SECRETS_KEY_ALIAS,
        # Watbot's client-side limit is tested on its own (test_ratelimit.py); here it would only wait.
        "RATE_LIMIT_WATBOT": "0",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        sqs = boto3.client("sqs")
        monkeypatch.setenv("WEBHOOK_DELIVERIES_QUEUE_URL", sqs.create_queue(QueueName="webhook-deliveries")["QueueUrl"])
        monkeypatch.setenv("EVENTS_DEAD_LETTER_QUEUE_URL", sqs.create_queue(QueueName="events-dlq")["QueueUrl"])
        seed.seed_account(
            dynamodb=boto3.client("dynamodb"),
            secretsmanager=boto3.client("secretsmanager"),
            kms=boto3.client("kms"),
            base_urls=BASE_URLS,
            callback_tokens=seed.SEED_CALLBACK_TOKENS,
        )
        seed.put_seed_api_key()
        fakes = ProviderFakes()
        for provider, simulator in seed.simulators(rate_limited=False).by_provider().items():
            fakes.add(f"{provider}.seed.test", SimulatorFake(simulator))
        http_pool.reset(fakes.transport())
        yield bus_tap(LOCAL_EVENT_BUS)


def test_every_event_file_is_in_a_manifest_and_every_route_has_one() -> None:
    on_disk = {str(p.relative_to(event_files.EVENTS_DIR)) for p in event_files.EVENTS_DIR.rglob("*.json")}
    manifests = {f"{m.folder}/{event_files.MANIFEST_NAME}" for m in event_files.manifests()}
    assert on_disk - manifests == event_files.listed_files()
    assert {m.function for m in event_files.manifests()} == set(functions())
    api_files = [i for i in event_files.plan() if isinstance(i.expected, int)]
    assert {route.route_key for route in http_routes()} <= {i.event()["routeKey"] for i in api_files}


def test_every_event_file_gives_its_expected_answer_in_plan_order(seeded, context) -> None:  # type: ignore[no-untyped-def]
    wrong = []
    for invocation in event_files.plan():
        answer = handler_of(invocation.function)(invocation.event(), context)
        if problem := event_files.mismatch(invocation.expected, answer):
            wrong.append(f"{invocation.name}: {problem} {answer.get('body', '') if isinstance(answer, dict) else ''}")
    assert wrong == []
    # The processor's file names the event `callbacks/post_smartregion_connection.json` stored: run
    # after it, it applies and publishes that event rather than skipping an unknown one.
    published = [(event["detail-type"], event["detail"]["subject_ref"]) for event in seeded()]
    assert ("smartregion.user.connected", "tg-100500") in published


def test_the_event_files_carry_the_seeded_credentials_and_ids() -> None:
    seeded_key_id = seed.key_id(seed.SEED_API_KEY)
    for invocation in event_files.plan():
        event = invocation.event()
        context = ((event.get("requestContext") or {}).get("authorizer") or {}).get("lambda")
        if context and context["authenticated"]:
            assert context["key_id"] == seeded_key_id, invocation.name
            assert event["headers"]["x-api-key"] == seed.SEED_API_KEY, invocation.name
        parameters = event.get("pathParameters") or {}
        provider, token = parameters.get("provider"), parameters.get("token")
        if provider and token and invocation.expected not in (401, 404):  # wrong token, unknown provider
            assert token == seed.SEED_CALLBACK_TOKENS[provider], invocation.name
    registration = event_files.Invocation("registrations", "get_by_id.json", "", 200).event()
    smartregion_id = derived_id("smartregion", seed.SMARTREGION_PROJECT, seed.SMARTREGION_CHANNELS[0], "tg-100500")
    assert registration["rawPath"] == f"/v1/registrations/{smartregion_id}"
    message = event_files.Invocation("messaging", "get_message.json", "", 200).event()
    message_id = derived_id("message", seeded_key_id, "messages", "7d3f0b52-event-file")
    assert message["rawPath"] == f"/v1/messages/{message_id}"


def test_openapi_event_lists_every_template_route(seeded, context) -> None:  # type: ignore[no-untyped-def]
    event = event_files.Invocation("meta", "openapi.json", "MetaFunction", 200).event()
    document = body_of(handler_of("MetaFunction")(event, context))
    documented = {f"{method.upper()} {path}" for path, ops in document["paths"].items() for method in ops}
    # every route but the catch-all, which is no operation: it answers the 404 documented on each route
    assert {r.route_key for r in http_routes()} - {CATCH_ALL_ROUTE} <= documented


def test_lanes_run_a_folder_after_the_folders_it_names() -> None:
    def manifest(folder: str, after: tuple[str, ...] = ()) -> event_files.Manifest:
        return event_files.Manifest(folder, "F", after, (event_files.Invocation(folder, "x.json", "F", 200),))

    lanes = event_files.lanes([manifest("b", ("a",)), manifest("a"), manifest("c")])
    assert [[m.folder for m in lane] for lane in lanes] == [["a", "b"], ["c"]]
    with pytest.raises(ValueError, match="cyclic or unknown"):
        event_files.lanes([manifest("a", ("missing",))])


def test_a_mismatch_says_what_differs() -> None:
    assert event_files.mismatch(201, {"statusCode": 201}) == ""
    assert event_files.mismatch(201, {"statusCode": 502, "body": "x"}) == "expected status 201, got 502"
    assert "got" in event_files.mismatch(201, {"errorMessage": "Unable to import module"})
    assert event_files.mismatch({"batchItemFailures": []}, {"batchItemFailures": []}) == ""
    assert event_files.mismatch({"batchItemFailures": []}, {"batchItemFailures": [{"itemIdentifier": "1"}]})
