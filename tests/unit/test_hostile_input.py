"""Hostile input, on every route of template.yaml: always a 4xx problem, nothing stored, nothing sent.

The corpus holds bodies (depth, encodings, media types, JSON syntax and values, sizes) and events
(shapes API Gateway could send but a reader may not expect). Routes come from template.yaml and
whether a route reads a body from its OpenAPI operation, so a new route is covered without a change
here. On a route that reads a body, each case must get the status the edge gives it (400, 413, 415,
or 422 for JSON of the wrong shape); a route that reads no body may ignore it, but never fails.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support import body_of
from tests.unit.conftest import table_items
from tests.unit.routes_support import ROUTES, event_for, handler_for, is_webhook, reads_body

VALID = {"provider": "smartregion", "user_id": "tg-1", "payload": "P"}


def with_value(value: str) -> str:
    """A registration that would be accepted, but for the JSON text `value` in a free-form field."""
    return json.dumps({**VALID, "user_field": {"k": "PLACEHOLDER"}}).replace('"PLACEHOLDER"', value)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@dataclass(frozen=True)
class Body:
    name: str
    body: str | None
    status: int  # on a client route that reads a body
    webhook: int | None = None  # on a webhook, when it differs (Content-Type is not checked there)
    base64: bool = False
    headers: dict[str, str] = field(default_factory=dict)  # replace the default `content-type`
    every_route: bool = False  # refused before routing, whatever the route

    def expected(self, webhook: bool) -> int:
        return self.webhook if webhook and self.webhook is not None else self.status


DEEP = 10_000
BODIES = [
    # nesting: never a RecursionError, in the parser or downstream
    Body("arrays 10,000 deep", "[" * DEEP + "]" * DEEP, 400),
    Body("objects 10,000 deep", '{"a":' * DEEP + "1" + "}" * DEEP, 400),
    Body("arrays and objects 10,000 deep", '[{"a":' * DEEP + "1" + "}]" * DEEP, 400),
    Body("unclosed arrays 100,000 deep", "[" * 100_000, 400),
    Body("17 levels in a free-form field", with_value("[" * 15 + "1" + "]" * 15), 400),
    Body("deep base64 body", b64(("[" * DEEP + "]" * DEEP).encode()), 400, base64=True),
    # encodings
    Body("lone surrogate in the raw text", with_value('"\udcff"'), 400),
    Body("base64 of invalid UTF-8", b64(b'{"provider": "smartregion", "user_id": "\xff"}'), 400, base64=True),
    Body("base64 of latin-1", b64(with_value('"é"').encode("latin-1")), 400, base64=True),
    Body("base64 of an overlong UTF-8 sequence", b64(b'{"a": "\xc0\xaf"}'), 400, base64=True),
    Body("base64 of UTF-16", b64(json.dumps(VALID).encode("utf-16")), 400, base64=True),
    Body("UTF-8 byte order mark", "\ufeff" + json.dumps(VALID), 400),
    Body("base64 with a byte order mark", b64(b"\xef\xbb\xbf" + json.dumps(VALID).encode()), 400, base64=True),
    Body("not base64 at all", "!!! not base64 !!!", 400, base64=True),
    Body("base64 with bad padding", b64(json.dumps(VALID).encode())[:-1], 400, base64=True),
    Body(
        "base64 with a line break",
        b64(json.dumps(VALID).encode())[:8] + "\n" + b64(json.dumps(VALID).encode())[8:],
        400,
        base64=True,
    ),
    Body("plain JSON marked base64", json.dumps(VALID), 400, base64=True),
    # media types: 415 on client routes; a webhook reads the body whatever its label
    Body("text/plain", "hello", 415, 400, headers={"content-type": "text/plain"}),
    Body("application/xml", "<registration/>", 415, 400, headers={"content-type": "application/xml"}),
    Body(
        "application/octet-stream",
        b64(b"\x00\x01\xfe\xff"),
        415,
        400,
        base64=True,
        headers={"content-type": "application/octet-stream"},
    ),
    Body(
        "form",
        "provider=smartregion&user_id=u&payload=p",
        415,
        400,
        headers={"content-type": "application/x-www-form-urlencoded"},
    ),
    Body(
        "multipart",
        '--b\r\nContent-Disposition: form-data; name="provider"\r\n\r\nsmartregion\r\n--b--\r\n',
        415,
        400,
        headers={"content-type": "multipart/form-data; boundary=b"},
    ),
    Body("a media type that only starts like JSON", "[]", 415, 422, headers={"content-type": "application/jsonx"}),
    Body("Content-Type spelled in capitals", "hello", 415, 400, headers={"Content-Type": "text/plain"}),
    Body("CONTENT-TYPE shouted", "<a/>", 415, 400, headers={"CONTENT-TYPE": "application/xml"}),
    Body(
        "two Content-Type headers",
        "hello",
        415,
        400,
        headers={"content-type": "application/json", "Content-Type": "text/plain"},
    ),
    Body("no Content-Type, not JSON", "hello", 400),
    Body("no Content-Type, JSON of the wrong shape", "[]", 422),
    # JSON syntax
    Body("trailing garbage", json.dumps(VALID) + " x", 400),
    Body("two JSON texts", json.dumps(VALID) + json.dumps(VALID), 400),
    Body("unterminated", '{"provider": "smartregion", ', 400),
    Body("single quotes", "{'provider': 'smartregion'}", 400),
    Body("a comment", '{"provider": "smartregion" /* hi */}', 400),
    Body("a trailing comma", '{"provider": "smartregion",}', 400),
    Body("whitespace only", " \n\t ", 400),
    Body("a leading zero", with_value("01"), 400),
    Body("a hex number", with_value("0x10"), 400),
    Body("a plus sign", with_value("+1"), 400),
    Body("a raw control character in a string", with_value('"a\x01b"'), 400),
    Body("a raw line break in a string", with_value('"a\nb"'), 400),
    Body("a raw NUL in a string", with_value('"a\x00b"'), 400),
    # JSON values the gateway refuses to keep
    Body("NaN", with_value("NaN"), 400),
    Body("Infinity", with_value("Infinity"), 400),
    Body("-Infinity", with_value("-Infinity"), 400),
    Body("1e400", with_value("1e400"), 400),
    Body("-1e400", with_value("-1e400"), 400),
    Body("1e-400 (would silently become 0)", with_value("1e-400"), 400),
    Body("1e200 (beyond DynamoDB numbers)", with_value("1e200"), 400),
    Body("1e-200 (below DynamoDB numbers)", with_value("1e-200"), 400),
    Body("an integer of 5,000 digits", with_value("9" * 5000), 400),
    Body("an integer of 39 digits", with_value("1" * 39), 400),
    Body("a negative integer of 39 digits", with_value("-" + "1" * 39), 400),
    Body("a float written with 400 digits", with_value("1" + "0" * 400 + ".5"), 400),
    Body("a 5,000-digit integer as the whole body", "9" * 5000, 400),
    Body(
        "duplicate member names",
        '{"provider": "smartregion", "provider": "biway", "user_id": "u", "payload": "p"}',
        400,
    ),
    Body("duplicate member names, nested", with_value('{"a": 1, "a": 2}'), 400),
    Body("an empty member name", '{"": 1, "provider": "smartregion", "user_id": "u", "payload": "p"}', 400),
    Body("an empty member name, nested", with_value('{"": 1}'), 400),
    Body("lone high surrogate escape", with_value('"\\ud800"'), 400),
    Body("lone low surrogate escape", with_value('"\\udc00"'), 400),
    Body("surrogate escapes in the wrong order", with_value('"\\udc00\\ud800"'), 400),
    Body("surrogate escape cut at the end", with_value('"ok \\ud83d"'), 400),
    Body("lone surrogate escape in a member name", with_value('{"\\uDBFF": 1}'), 400),
    Body(
        "lone surrogate escape in a field a provider receives",
        json.dumps({**VALID, "user_id": "PH"}).replace('"PH"', '"\\ud800"'),
        400,
    ),
    # JSON of the wrong shape (the route's validation; a webhook needs an object too)
    Body("no body", None, 422, 400),
    Body("empty body", "", 422, 400),
    Body("null", "null", 422),
    Body("an array", "[]", 422),
    Body("a number", "42", 422),
    Body("minus zero", "-0", 422),
    Body("minus zero float", "-0.0", 422),
    Body("a string", '"text"', 422),
    Body("true", "true", 422),
    Body("an array of the right object", json.dumps([VALID]), 422),
    Body("a huge string within the size limit", json.dumps("x" * 200_000), 422),
    Body("many strings within the size limit", json.dumps(["x" * 1000] * 200), 422),
    # sizes: refused before routing, on every route
    Body("one byte over 256 KiB", json.dumps({**VALID, "payload": "x" * (256 * 1024)}), 413, every_route=True),
    Body(
        "base64 over 256 KiB decoded",
        b64(json.dumps({**VALID, "payload": "y" * (256 * 1024)}).encode()),
        413,
        base64=True,
        every_route=True,
    ),
]


def _without(*keys: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda event: {k: v for k, v in event.items() if k not in keys}


def _set(**changes: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda event: {**event, **changes}


def _http(**changes: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(event: dict[str, Any]) -> dict[str, Any]:
        context = event["requestContext"]
        return {**event, "requestContext": {**context, "http": {**context["http"], **changes}}}

    return change


def _header(name: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda event: {**event, "headers": {**event["headers"], name: value}}


def _lower_method(event: dict[str, Any]) -> dict[str, Any]:
    return _http(method=event["requestContext"]["http"]["method"].lower())(event)


@dataclass(frozen=True)
class Shape:
    name: str
    change: Callable[[dict[str, Any]], Any]
    status: int | None  # None: the event is read (answered like any request), never a failure


SHAPES = [
    Shape("not an object", lambda event: None, 400),
    Shape("a list", lambda event: [event], 400),
    Shape("a string", lambda event: "GET /v1/health", 400),
    Shape("no method anywhere", _without("requestContext", "routeKey"), 400),
    Shape("an unknown method", _http(method="BREW"), 400),
    Shape("no path anywhere", lambda event: _http(path=None)(_without("rawPath")(event)), 400),
    Shape("a path without a leading slash", _set(rawPath="v1/health"), 400),
    Shape("a lone surrogate in the path", lambda event: {**event, "rawPath": event["rawPath"] + "\udcff"}, 400),
    Shape("a lone surrogate in a header", _header("x-note", "a\ud800"), 400),
    Shape("a lone surrogate in a header name", _header("x-\ud800", "a"), 400),
    Shape("a lone surrogate in the query", _set(queryStringParameters={"limit": "\udcff"}), 400),
    Shape("a lone surrogate in the raw query", _set(rawQueryString="limit=\udcff"), 400),
    Shape("a lone surrogate in a cookie", _set(cookies=["a=\ud800"]), 400),
    Shape("a body that is an object", _set(body={"provider": "smartregion"}), 400),
    Shape("a body that is a number", _set(body=42), 400),
    Shape("no requestContext", _without("requestContext"), None),
    Shape("requestContext null", _set(requestContext=None), None),
    Shape(
        "requestContext.http null",
        lambda event: {**event, "requestContext": {**event["requestContext"], "http": None}},
        None,
    ),
    Shape("no stage", lambda event: {**event, "requestContext": _without("stage")(event["requestContext"])}, None),
    Shape("no rawPath (the context names it)", _without("rawPath"), None),
    Shape("a lower-case method", _lower_method, None),
    Shape("headers null", _set(headers=None), None),
    Shape("headers a list", _set(headers=["content-type: application/json"]), None),
    Shape("a header that is not text", _header("x-count", 7), None),
    Shape("query parameters a string", _set(queryStringParameters="limit=1"), None),
    Shape("path parameters null", _set(pathParameters=None), None),
    Shape("cookies a string", _set(cookies="a=b"), None),
    Shape("isBase64Encoded a string", _set(isBase64Encoded="true"), None),
    Shape("no body, marked base64", _set(body=None, isBase64Encoded=True), None),
]


def hostile_event(route, case: Body) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    event = event_for(route, body=case.body)
    if case.headers:
        event["headers"].pop("content-type")
        event["headers"].update(case.headers)
    event["isBase64Encoded"] = case.base64
    return event


def check_problem(response: dict[str, Any], expected: int | None, what: str) -> list[str]:
    """What is wrong with `response` (an empty list when it is the problem `expected`, or any non-5xx)."""
    status = response.get("statusCode")
    failures = []
    if not isinstance(status, int) or status >= 500:
        return [f"{what}: {status} {str(response.get('body'))[:200]}"]
    if expected is not None and status != expected:
        failures.append(f"{what}: {status}, expected {expected}: {str(response.get('body'))[:200]}")
    if status >= 400:
        if response["headers"].get("Content-Type") != "application/problem+json":
            failures.append(f"{what}: {status} is not application/problem+json")
        problem = body_of(response)
        if (
            not isinstance(problem, dict)
            or problem.get("status") != status
            or not {"type", "title", "detail"} <= set(problem)
        ):
            failures.append(f"{what}: not a problem: {str(response.get('body'))[:200]}")
        if "Traceback" in response["body"] or 'File "' in response["body"]:
            failures.append(f"{what}: a traceback in the answer")
    return failures


def invoke(handler, event: Any, context: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The handler's answer; an exception is reported as the 5xx it would be behind API Gateway."""
    try:
        response: dict[str, Any] = handler(event, context)
    except Exception as exc:  # every escape is a finding
        return {"statusCode": 502, "body": f"the handler raised {type(exc).__name__}"}
    return response


def requests_sent(providers) -> int:  # type: ignore[no-untyped-def]
    return sum(len(fake.requests) for fake in providers.fakes.values())


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.route_key)
def test_hostile_bodies_get_the_edges_4xx_problem_and_nothing_is_stored_or_sent(  # type: ignore[no-untyped-def]
    providers, context, capsys, route
) -> None:
    handler = handler_for(route.function)
    body_route = reads_body(route)
    failures = []
    for case in BODIES:
        sent_before = requests_sent(providers)
        response = invoke(handler, hostile_event(route, case), context)
        if body_route or case.every_route:
            failures += check_problem(response, case.expected(is_webhook(route)), case.name)
            if requests_sent(providers) != sent_before:
                failures.append(f"{case.name}: a provider was called")
        else:
            failures += check_problem(response, None, case.name)
        if table_items():
            failures.append(f"{case.name}: something was stored")
            break
    assert failures == []
    assert "Logging error" not in capsys.readouterr().err


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.route_key)
def test_events_that_cannot_be_read_are_400_problems_and_odd_ones_are_still_answered(  # type: ignore[no-untyped-def]
    providers, context, capsys, route
) -> None:
    handler = handler_for(route.function)
    # a body the route refuses in any case: an event read despite its oddities stores nothing
    body = "[]" if reads_body(route) else None
    failures = []
    for case in SHAPES:
        response = invoke(handler, case.change(event_for(route, body=body)), context)
        failures += check_problem(response, case.status, case.name)
    assert failures == []
    assert table_items() == []
    assert "Logging error" not in capsys.readouterr().err
