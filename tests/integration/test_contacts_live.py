"""Watbot contacts through the dev server and the Watbot simulator, over real connections."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from local.simulators.watbot import seed_demo_contacts
from local.stack import LocalStack

AWKWARD = "VIP & друзья = 100% + #1 🚀"


@pytest.fixture(autouse=True)
def _fresh_watbot(stack: LocalStack) -> Iterator[None]:
    stack.watbot.reset()
    seed_demo_contacts(stack.watbot)
    yield


@pytest.fixture
def contact(stack: LocalStack) -> str:
    return str(stack.watbot.add_contact("Тест Контакт", phone="+79990000042"))


def test_contacts_are_listed_from_watbot(api: httpx.Client, stack: LocalStack) -> None:
    response = api.get("/v1/contacts", params={"count": 2})

    assert response.status_code == 200, response.text
    page = response.json()
    assert [c["name"] for c in page["items"]] == ["Иван Петров", "Marie Curie"]
    assert page["next_page"] == 2
    (call,) = stack.watbot.calls("getContacts")
    assert call.headers["accept"] == "application/json"
    assert call.params == {"api_token": "wb-demo-token", "count": "2", "page": "1"}


def test_a_tag_round_trips_with_every_awkward_character(api: httpx.Client, stack: LocalStack, contact: str) -> None:
    path = f"/v1/contacts/{contact}/tags/{quote(AWKWARD, safe='')}"

    attached = api.put(path)
    listed = api.get(f"/v1/contacts/{contact}/tags")
    detached = api.delete(path)

    assert attached.status_code == 200, attached.text
    assert attached.json() == {"contact_id": contact, "name": AWKWARD}
    assert stack.watbot.calls("attachTagToContact")[0].params["name"] == AWKWARD
    assert listed.json()["items"] == [{"contact_id": contact, "name": AWKWARD}]
    assert detached.status_code == 204
    assert stack.watbot.contacts[int(contact)].tags == {}


def test_a_variable_is_set_read_and_deleted(api: httpx.Client, stack: LocalStack, contact: str) -> None:
    path = f"/v1/contacts/{contact}/variables/{quote('адрес доставки', safe='')}"
    value = "ул. Ленина, 1 & 2; этаж 3 🏢"

    put = api.put(path, json={"value": value, "deletable": False})
    listed = api.get(f"/v1/contacts/{contact}/variables")
    deleted = api.delete(path)

    assert put.status_code == 200, put.text
    assert listed.json()["items"] == [
        {"contact_id": contact, "name": "адрес доставки", "value": value, "deletable": False}
    ]
    assert deleted.status_code == 204
    assert stack.watbot.contacts[int(contact)].variables == {}


def test_unknown_contact_is_a_404_problem(api: httpx.Client) -> None:
    response = api.get("/v1/contacts/999999/variables")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["provider"] == "watbot"


def test_bad_input_is_a_422_and_reaches_no_one(api: httpx.Client, stack: LocalStack, contact: str) -> None:
    bad_value = api.put(f"/v1/contacts/{contact}/variables/x", json={"value": ["not", "text"]})
    bad_count = api.get("/v1/contacts", params={"count": 501})

    assert bad_value.status_code == 422
    assert bad_count.status_code == 422
    assert stack.watbot.requests == []


def test_watbot_down_is_retried_then_a_502(api: httpx.Client, stack: LocalStack, contact: str) -> None:
    stack.watbot.fail_next(503, times=3)

    response = api.get(f"/v1/contacts/{contact}/tags")

    assert response.status_code == 502
    assert len(stack.watbot.calls("getContactTags")) == 3


def test_the_client_keeps_under_watbots_two_requests_per_second(
    api: httpx.Client, stack: LocalStack, contact: str
) -> None:
    started = time.monotonic()

    statuses = [api.get(f"/v1/contacts/{contact}/tags").status_code for _ in range(4)]

    assert statuses == [200] * 4
    # no 429 was provoked (it would show as a retried, fifth call), so the calls were spread out
    assert len(stack.watbot.calls("getContactTags")) == 4
    assert time.monotonic() - started >= 1.0


def test_without_the_client_limit_a_429_is_retried_after_watbots_retry_after(
    api: httpx.Client, stack: LocalStack, contact: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATE_LIMIT_WATBOT", "0")

    statuses = [api.get(f"/v1/contacts/{contact}/tags").status_code for _ in range(3)]

    assert statuses == [200] * 3
    assert len(stack.watbot.calls("getContactTags")) == 4  # the third was refused once, then retried
