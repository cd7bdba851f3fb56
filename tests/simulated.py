"""Unit-test fakes that are a simulator's socket-free logic behind httpx.MockTransport.

The fake and the local simulator are then the same code: what the unit tests prove about the
provider's behaviour is what `make dev` and the integration tests run against.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

import httpx


class SimulatorAnswer(Protocol):
    status: int
    body: Any
    headers: dict[str, str]


class SocketFreeSimulator(Protocol):
    def handle(self, method: str, target: str, headers: dict[str, str], raw_body: bytes) -> Any: ...


@dataclass(frozen=True)
class AnswerLost:
    """A `script` step: the simulator processes the call (the provider did it), then `error` is
    raised instead of its answer (we never heard), e.g. httpx.ReadTimeout after the provider acted."""

    error: Exception


class SimulatorFake:
    """A ProviderFake (tests.support) answering through `simulator.handle`.

    `script` queues answers for the next calls: a status code, a whole httpx.Response or an
    exception such as httpx.ReadTimeout, before the simulator sees the call; an AnswerLost after
    it processed it.
    """

    def __init__(self, simulator: SocketFreeSimulator) -> None:
        self.simulator = simulator
        self.requests: list[httpx.Request] = []
        self.script: list[int | httpx.Response | Exception | AnswerLost] = []

    def calls(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.script.pop(0) if self.script else None
        if isinstance(step, Exception):
            raise step
        if isinstance(step, int):
            return httpx.Response(step, json={"message": "scripted"})
        if isinstance(step, httpx.Response):
            return step
        headers = {name.lower(): value for name, value in request.headers.items()}
        answer = self.simulator.handle(request.method, request.url.raw_path.decode("ascii"), headers, request.content)
        if isinstance(step, AnswerLost):
            raise step.error
        content_type = getattr(answer, "content_type", "application/json")
        content = (
            json.dumps(answer.body, ensure_ascii=False).encode("utf-8")
            if content_type == "application/json"
            else str(answer.body).encode("utf-8")
        )
        return httpx.Response(answer.status, content=content, headers={"Content-Type": content_type, **answer.headers})
