"""The Watbot simulator's own behaviour (socket-free), which the unit fakes and the local stack share."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from local.simulators.watbot import WatbotSimulator

JSON = {"accept": "application/json"}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def simulator(clock: Clock) -> WatbotSimulator:
    return WatbotSimulator({"tok"}, rate_limit=None, clock=clock)


def call(simulator: WatbotSimulator, method: str, operation: str, headers=JSON, body: bytes = b"", **params):  # type: ignore[no-untyped-def]
    target = f"/api/v1/{operation}?{urlencode({'api_token': 'tok', **params})}"
    return simulator.handle(method, target, dict(headers), body)


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_delete_contact_variable_answers_post_and_delete(simulator, method) -> None:
    contact = simulator.add_contact("a")
    call(simulator, "POST", "setContactVariable", contact_id=contact, name="x", value="1")

    answer = call(simulator, method, "deleteContactVariable", contact_id=contact, name="x")

    assert answer.status == 200
    assert simulator.contacts[contact].variables == {}


def test_other_methods_refuse_the_wrong_verb(simulator) -> None:
    contact = simulator.add_contact("a")

    assert call(simulator, "GET", "attachTagToContact", contact_id=contact, name="x").status == 405
    assert call(simulator, "DELETE", "detachTagFromContact", contact_id=contact, name="x").status == 405
    assert call(simulator, "POST", "nope").status == 404


def test_refused_token_is_json_401_with_accept_json_and_a_redirect_without(simulator) -> None:
    target = "/api/v1/getContacts?api_token=wrong"

    with_json = simulator.handle("GET", target, JSON, b"")
    without = simulator.handle("GET", target, {"accept": "*/*"}, b"")

    assert (with_json.status, with_json.body) == (401, {"message": "Unauthenticated."})
    assert (without.status, without.headers["Location"]) == (302, "/login")


def test_rate_limit_is_two_per_sliding_second_per_token(clock) -> None:
    simulator = WatbotSimulator({"tok", "other"}, rate_limit=2, clock=clock)

    statuses = [call(simulator, "GET", "getContacts").status for _ in range(3)]
    other_token = simulator.handle("GET", "/api/v1/getContacts?api_token=other", JSON, b"").status
    clock.now = 0.999
    still_limited = call(simulator, "GET", "getContacts")
    clock.now = 1.0
    later = call(simulator, "GET", "getContacts").status

    assert statuses == [200, 200, 429]
    assert other_token == 200
    assert still_limited.status == 429
    assert still_limited.headers["Retry-After"] == "1"
    assert later == 200


def test_parameters_come_from_the_query_or_a_form_or_json_body(simulator) -> None:
    contact = simulator.add_contact("a")
    form = urlencode({"contact_id": contact, "name": "город", "value": "Москва & co"}).encode()
    as_json = json.dumps({"contact_id": contact, "name": "n2", "value": "v2"}).encode()

    call(simulator, "POST", "setContactVariable", {**JSON, "content-type": "application/x-www-form-urlencoded"}, form)
    call(simulator, "POST", "setContactVariable", {**JSON, "content-type": "application/json"}, as_json)

    assert {n: v.value for n, v in simulator.contacts[contact].variables.items()} == {
        "город": "Москва & co",
        "n2": "v2",
    }


def test_missing_fields_are_422_with_errors(simulator) -> None:
    contact = simulator.add_contact("a")

    no_name = call(simulator, "POST", "attachTagToContact", contact_id=contact)
    no_value = call(simulator, "POST", "setContactVariable", contact_id=contact, name="x")
    bad_flag = call(simulator, "POST", "setContactVariable", contact_id=contact, name="x", value="1", deletable="2")
    too_many = call(simulator, "GET", "getContacts", count=501)

    assert (no_name.status, list(no_name.body["errors"])) == (422, ["name"])
    assert (no_value.status, list(no_value.body["errors"])) == (422, ["value"])
    assert (bad_flag.status, list(bad_flag.body["errors"])) == (422, ["deletable"])
    assert (too_many.status, list(too_many.body["errors"])) == (422, ["count"])


def test_unknown_contact_is_404(simulator) -> None:
    assert call(simulator, "GET", "getContactTags", contact_id=99).status == 404
    assert call(simulator, "GET", "getContactTags", contact_id="abc").status == 404


def test_answers_have_the_documented_shapes(simulator) -> None:
    contact = simulator.add_contact("Иван", phone="+79990000001")
    call(simulator, "POST", "attachTagToContact", contact_id=contact, name="vip")
    call(simulator, "POST", "setContactVariable", contact_id=contact, name="x", value="1", deletable=0)

    contacts = call(simulator, "GET", "getContacts").body
    variables = call(simulator, "GET", "getContactVariables", contact_id=contact).body
    tags = call(simulator, "GET", "getContactTags", contact_id=contact).body

    assert set(contacts["data"][0]) == {
        "id", "bot_id", "phone", "email", "name", "messenger", "telegram_id",
        "telegram_username", "viber_id", "address", "utm", "created_at",
    }  # fmt: skip
    assert [set(v) for v in variables] == [{"id", "name", "value", "deletable"}]
    assert variables[0]["deletable"] == 0
    assert [t["name"] for t in tags["data"]] == ["vip"]


def test_send_message_needs_exactly_one_content(simulator) -> None:
    contact = simulator.add_contact("a")

    sent = call(simulator, "POST", "sendMessage", contact_id=contact, text="привет")
    both = call(simulator, "POST", "sendMessage", contact_id=contact, text="a", image="https://x/y.png")

    assert sent.status == 200 and sent.body["data"]["id"]
    assert both.status == 422
    assert simulator.contacts[contact].messages == [{"id": str(sent.body["data"]["id"]), "text": "привет"}]


def test_fail_next_answers_before_the_operation_runs(simulator) -> None:
    contact = simulator.add_contact("a")
    simulator.fail_next(503)

    failed = call(simulator, "POST", "attachTagToContact", contact_id=contact, name="x")
    retried = call(simulator, "POST", "attachTagToContact", contact_id=contact, name="x")

    assert (failed.status, retried.status) == (503, 200)
    assert list(simulator.contacts[contact].tags) == ["x"]
