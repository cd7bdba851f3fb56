"""What `make dev` and `make demo` show: no metrics in the dev log unless asked, the demo's API calls."""

from __future__ import annotations

import httpx
import pytest

from local import demo
from local.stack import DEV_METRICS_ENV, LocalStack


@pytest.mark.parametrize(
    ("asked", "setting", "disabled"),
    [(None, "", "true"), (None, "1", "false"), (True, "", "false"), (False, "1", "true")],
)
def test_metrics_stay_out_of_the_dev_log_unless_asked_for(
    monkeypatch: pytest.MonkeyPatch, asked: bool | None, setting: str, disabled: str
) -> None:
    monkeypatch.setenv(DEV_METRICS_ENV, setting)
    # the environment the stack gives the handlers (Powertools reads it at every flush)
    assert LocalStack(metrics=asked)._environment()["POWERTOOLS_METRICS_DISABLED"] == disabled


def test_the_demo_shows_each_call_briefly_and_never_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={"id": "m-1", "status": "accepted", "text": "Здравствуйте " * 40})

    client = httpx.Client(
        base_url="http://api.test", headers={"x-api-key": "cbk_secret"}, transport=httpx.MockTransport(answer)
    )
    response = client.post("/v1/messages", params={"dry": "no"}, json={"provider": "biway", "text": "Bonjour"})
    assert demo.expect(response, 201)["id"] == "m-1"
    sent, answered = capsys.readouterr().out.splitlines()
    assert sent == '   → POST /v1/messages?dry=no  {"provider":"biway","text":"Bonjour"}'
    assert answered.startswith('   ← 201  {"id":"m-1","status":"accepted","text":"Здравствуйте')
    assert answered.endswith("…") and len(answered) < 200  # cut to one line
    assert "cbk_secret" not in sent + answered


def test_polls_are_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    client = httpx.Client(
        base_url="http://api.test", transport=httpx.MockTransport(lambda r: httpx.Response(200, json={}))
    )
    demo.expect(client.get("/v1/events"), 200, shown=False)
    assert capsys.readouterr().out == ""
