"""The Smartico simulator answers what the document says, socket-free (its HTTP server is the same `handle`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.simulators.smartico import REGISTER_PATH, SmarticoSimulator

FORM = {
    "hostname": "aff-home.smartico.ai",
    "first_name": "First-name",
    "last_name": "Last-name",
    "bo_user_email": "somemail@somewhere.com",
    "username": "username123",
    "password": "Q!w2e3r4",
    "country": "BG",
    "tc": True,
    "token": "03AGdBq261a4cR1",
}


def register(simulator: SmarticoSimulator, body: Any, content_type: str = "application/json") -> dict[str, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer = simulator.handle("POST", REGISTER_PATH, {"content-type": content_type}, raw)
    assert answer.status == 200  # the document's API answers with codes, not statuses
    result: dict[str, Any] = answer.body
    return result


@pytest.fixture
def simulator() -> SmarticoSimulator:
    return SmarticoSimulator(["aff-home.smartico.ai"])


def test_a_valid_form_is_ok_with_an_affiliate_id(simulator: SmarticoSimulator) -> None:
    assert register(simulator, FORM) == {"errCode": 0, "errMsg": "OK", "affiliate_id": 1001}
    assert simulator.affiliates["username123"].state == "pending"
    assert "password" not in simulator.affiliates["username123"].fields


def test_a_manager_approves_the_affiliate_at_once(simulator) -> None:
    register(simulator, {**FORM, "manager_id": 5})

    assert simulator.affiliates["username123"].state == "approved"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"hostname": None}, -2),
        ({"first_name": ""}, -2),
        ({"tc": False}, -2),
        ({"tc": "true"}, -2),
        ({"bo_user_email": "somemail"}, -2),
        ({"country": "Bulgaria"}, -2),
        ({"language": "FRA"}, -2),
        ({"manager_id": "5"}, -2),
        ({"extra_role_ids": [1, "x"]}, -2),
        ({"hostname": "aff.other.ai"}, -5),
        ({"token": "bot"}, -1),
        ({"username": "user5"}, -3),
        ({"password": "Q!w2e"}, -9),
        ({"password": "q!w2e3r4"}, -9),
        ({"password": "Q!W2E3R4"}, -9),
        ({"password": "Q!wwerty"}, -9),
    ],
)
def test_each_rule_of_the_document_has_its_code(simulator, change: dict[str, Any], code: int) -> None:
    body = {k: v for k, v in {**FORM, **change}.items() if v is not None}

    assert register(simulator, body)["errCode"] == code
    assert simulator.affiliates == {}


def test_not_json_is_form_not_valid(simulator) -> None:
    assert register(simulator, b"{not json")["errCode"] == -2
    assert register(simulator, [FORM])["errCode"] == -2


def test_duplicates_of_username_and_email_are_refused_case_insensitively(simulator) -> None:
    register(simulator, FORM)

    assert register(simulator, {**FORM, "username": "USERNAME123", "bo_user_email": "x@y.com"})["errCode"] == -7
    assert register(simulator, {**FORM, "username": "other-user", "bo_user_email": "SomeMail@Somewhere.com"}) == {
        "errCode": -8,
        "errMsg": "EMAIL_ALREADY_EXISTS",
    }


def test_the_captcha_check_can_be_disabled_as_the_account_manager_would(simulator) -> None:
    simulator.captcha_required = False

    assert register(simulator, {**FORM, "token": "bot"})["errCode"] == 0


def test_controls_fail_the_flow_or_script_any_code(simulator) -> None:
    simulator.fail_flow_next()
    assert register(simulator, FORM)["errCode"] == -6
    simulator.answer_next(-42, hint="x")
    assert register(simulator, FORM) == {"errCode": -42, "errMsg": "UNKNOWN", "hint": "x"}
    assert register(simulator, FORM)["errCode"] == 0


def test_other_routes_and_methods_are_http_errors(simulator) -> None:
    assert simulator.handle("POST", "/api/other", {}, b"").status == 404
    assert simulator.handle("GET", REGISTER_PATH, {}, b"").status == 405
