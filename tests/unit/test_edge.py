"""The HTTP edge (chatbridge.edge): what it accepts, what it leaves to routes, and how it fails.

The hostile corpus (test_hostile_input.py) shows what is refused; these show that what JSON and
HTTP allow, and the contract promises, still gets through, so the refusals are the edge's rules and
not a route that refuses everything.
"""

from __future__ import annotations

import base64
import io
import json
import logging

import pytest

import callbacks_handler
import meta_handler
import registrations_handler
from chatbridge.edge import body
from chatbridge.errors import MalformedJsonError
from tests.support import api_event, body_of
from tests.unit.conftest import CALLBACK_TOKENS, registration_items, table_items

VALID = {"provider": "smartregion", "user_id": "tg-1", "payload": "P"}
CALLBACK = {"event": "connection", "user_id": "tg-1", "channel_id": "chan-1", "project_id": "proj-1"}


def post_registration(text: str, context, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    event = api_event("POST", "/v1/registrations", body=text)
    if headers is not None:
        event["headers"].pop("content-type")
        event["headers"].update(headers)
    return registrations_handler.lambda_handler(event, context)


def post_callback(text: str, context, headers: dict[str, str] | None = None, token: str | None = None):  # type: ignore[no-untyped-def]
    path = f"/v1/callbacks/smartregion/{token or CALLBACK_TOKENS['smartregion']}"
    event = api_event("POST", path, route="/v1/callbacks/{provider}/{token}", body=text, authorizer=None)
    event["headers"] = {k: v for k, v in event["headers"].items() if k not in {"x-api-key", "content-type"}}
    event["headers"].update(headers or {})
    return callbacks_handler.lambda_handler(event, context)


@pytest.mark.parametrize(
    "value",
    [
        "0",
        "-0",
        "-0.0",
        "0e10",
        "1e-5",
        "1e-130",
        "9.99e125",
        "-9.99e125",
        "1" * 38,
        "-" + "9" * 38,
        "0.1000000000000000055511151231257827",
        '"\\ud83d\\ude00"',  # a surrogate pair: one emoji, escaped
        '"😀 é \\u00e9 \\u0000 \\t"',
        '"' + "[" * 100 + '"',  # brackets inside a string are not nesting
        '"\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["',
        '"\\\\ud800 is text, not an escape"',
    ],
)
def test_json_values_within_the_rules_are_accepted_and_kept(smartregion, context, value: str) -> None:
    text = json.dumps({**VALID, "user_field": {"k": "PLACEHOLDER"}}).replace('"PLACEHOLDER"', value)

    response = post_registration(text, context)

    assert response["statusCode"] == 201, response["body"]
    assert json.loads(smartregion.requests[0].content)["user_field"] == {"k": json.loads(value)}
    assert len(registration_items()) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "application/json"},
        {"content-type": "application/json; charset=utf-8"},
        {"content-type": "application/json;charset=UTF-8"},
        {"Content-Type": "Application/JSON"},
        {"CONTENT-TYPE": "application/vnd.chatbridge+json"},
        {},
    ],
    ids=lambda h: next(iter(h.values()), "no content type"),
)
def test_json_media_types_and_no_content_type_are_accepted(smartregion, context, headers: dict[str, str]) -> None:
    assert post_registration(json.dumps(VALID), context, headers)["statusCode"] == 201


def test_a_valid_body_with_a_media_type_that_is_not_json_is_a_415_and_nothing_is_sent(smartregion, context) -> None:
    response = post_registration(json.dumps(VALID), context, {"content-type": "text/plain"})

    assert response["statusCode"] == 415
    assert body_of(response)["type"].endswith("/unsupported-media-type")
    assert smartregion.requests == []
    assert table_items() == []


@pytest.mark.parametrize("headers", [{}, {"content-type": "text/plain"}, {"content-type": "application/xml"}])
def test_a_webhook_is_stored_whatever_its_content_type(aws, context, headers: dict[str, str]) -> None:
    response = post_callback(json.dumps(CALLBACK), context, headers)

    assert response["statusCode"] == 200, response["body"]
    assert len([i for i in table_items() if i["pk"]["S"].startswith("EVENT#")]) == 1


def test_a_webhook_token_is_checked_before_a_hostile_body_is_parsed(aws, context) -> None:
    response = post_callback("[" * 10_000, context, token="wrong")

    assert response["statusCode"] == 401
    assert table_items() == []


def test_a_route_that_reads_no_body_ignores_it(context) -> None:
    event = api_event("GET", "/v1/health", body="[" * 10_000, authorizer=None)

    assert meta_handler.lambda_handler(event, context)["statusCode"] == 200


def test_nesting_is_bounded_at_16_levels() -> None:
    sixteen = '{"a":' + "[" * 15 + "]" * 15 + "}"  # an object and 15 arrays
    assert body.json_object(sixteen.encode())[1] == {"a": _nested(15)}
    with pytest.raises(MalformedJsonError, match="more than 16 deep"):
        body.json_object(('{"a":' + "[" * 16 + "]" * 16 + "}").encode())
    with pytest.raises(MalformedJsonError, match="more than 16 deep"):
        body.json_object(("{" + '"a":[' * 100_000).encode())  # never closed
    # many brackets, shallow, malformed: the parser says where
    with pytest.raises(MalformedJsonError, match=r"not valid JSON \(Expecting"):
        body.json_object(('{"a": [' + "[]," * 40 + "}").encode())
    # brackets inside strings, escaped quotes included, are not nesting
    assert body.json_object(json.dumps({"a": '"[' * 40, "b": "{" * 40}).encode())[1]["b"] == "{" * 40


def _nested(levels: int) -> list[object]:
    value: list[object] = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_the_decoded_size_of_a_base64_body_is_measured_without_decoding() -> None:
    for size in range(20):
        raw = b"x" * size
        assert body.body_size({"body": base64.b64encode(raw).decode(), "isBase64Encoded": True}) == size
    assert body.body_size({"body": "é😀", "isBase64Encoded": False}) == 6


def test_an_unexpected_failure_is_a_500_problem_without_its_message(  # type: ignore[no-untyped-def]
    smartregion, context, monkeypatch, caplog, capsys
) -> None:
    from chatbridge.logic import registrations

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("internal detail \ud800 that must not leak")

    monkeypatch.setattr(registrations, "create_registration", explode)

    response = post_registration(json.dumps(VALID), context)

    assert response["statusCode"] == 500
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert body_of(response) == {
        "type": "https://chatbridge.dev/problems/internal-error",
        "title": "Internal error",
        "status": 500,
        "detail": "An unexpected error occurred; it has been logged.",
    }
    (logged,) = [r for r in caplog.records if r.exc_info]  # logged, with its exception
    assert "internal detail" in str(logged.exc_info[1])  # type: ignore[index]
    assert "Logging error" not in capsys.readouterr().err


def test_a_failure_outside_the_resolver_is_still_a_problem(aws, context, monkeypatch) -> None:
    from chatbridge.edge import problems

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the mapping itself failed")

    monkeypatch.setattr(problems, "problem_for", broken)

    # a public route, past the gatekeeper: its 401 is mapped inside the resolver
    response = post_callback("{}", context, token="not-the-token")

    assert response["statusCode"] == 500
    assert body_of(response)["type"].endswith("/internal-error")
    assert "mapping" not in response["body"]


def test_a_log_line_holding_a_lone_surrogate_is_written(capsys) -> None:
    from chatbridge.observability import logger

    # what Lambda's stdout is: a stream that writes UTF-8 and refuses what UTF-8 cannot hold
    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    try:
        logger.info("surrogate %s", "test", extra={"value": "a\ud800b", "city": "Zürich"})
        logger.info("plain %s", "test", extra={"city": "Zürich"})
    finally:
        logger.removeHandler(handler)
    stream.flush()

    assert "Logging error" not in capsys.readouterr().err
    lines = [json.loads(line) for line in stream.buffer.getvalue().decode("utf-8").splitlines()]  # type: ignore[attr-defined]
    assert [(line["message"], line.get("value"), line["city"]) for line in lines] == [
        ("surrogate test", "a\ud800b", "Zürich"),
        ("plain test", None, "Zürich"),
    ]
    assert "Zürich" in stream.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]  # readable when it can be


def catch_all_event(method: str, path: str, **kwargs):  # type: ignore[no-untyped-def]
    """What API Gateway sends the `$default` route: its route key, whatever the method and path."""
    event = api_event(method, path, **kwargs)
    event["routeKey"] = event["requestContext"]["routeKey"] = "$default"
    return event


@pytest.mark.parametrize("handler", [meta_handler, registrations_handler], ids=["meta", "registrations"])
def test_the_catch_all_route_answers_404_and_never_runs_a_route(smartregion, context, handler) -> None:  # type: ignore[no-untyped-def]
    # Given an event of the catch-all route whose path a real route also serves, with a valid key
    body = '{"provider":"smartregion","user_id":"u-catch","payload":"P"}'
    event = catch_all_event("POST", "/v1/registrations", body=body)

    # When any function receives it
    response = handler.lambda_handler(event, context)

    # Then it is a 404 problem and nothing ran: no provider call, nothing stored
    assert response["statusCode"] == 404, response["body"]
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert body_of(response)["title"] == "Route not found"
    assert smartregion.requests == [] and table_items() == []


def test_an_unknown_route_past_the_authorizer_says_which_methods_the_path_has(context) -> None:
    # the route table knows GET /v1/health only
    response = meta_handler.lambda_handler(catch_all_event("DELETE", "/v1/health", authorizer=None), context)

    assert response["statusCode"] == 404
    assert (
        body_of(response)["detail"] == "This path answers GET, not DELETE. Every route is listed in /v1/openapi.json."
    )
