"""Unit-test fakes that are a simulator's socket-free logic behind httpx.MockTransport.

The fake and the local simulator are then the same code: what the unit tests prove about the
provider's behaviour is what `make dev` and the integration tests run against.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import httpx


class SimulatorAnswer(Protocol):
    status: int
    body: Any
    headers: dict[str, str]


class SocketFreeSimulator(Protocol):
    def handle(self, method: str, target: str, headers: dict[str, str], raw_body: bytes) -> Any: ...


class SimulatorFake:
    """A ProviderFake (tests.support) answering through `simulator.handle`.

    `script` queues answers for the next calls before the simulator sees them: a status code or
    an exception such as httpx.ReadTimeout.
    """

    def __init__(self, simulator: SocketFreeSimulator) -> None:
        self.simulator = simulator
        self.requests: list[httpx.Request] = []
        self.script: list[int | Exception] = []

    def calls(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, Exception):
                raise step
            return httpx.Response(step, json={"message": "scripted"})
        headers = {name.lower(): value for name, value in request.headers.items()}
        answer = self.simulator.handle(request.method, request.url.raw_path.decode("ascii"), headers, request.content)
        content_type = getattr(answer, "content_type", "application/json")
        content = (
            json.dumps(answer.body, ensure_ascii=False).encode("utf-8")
            if content_type == "application/json"
            else str(answer.body).encode("utf-8")
        )
        return httpx.Response(answer.status, content=content, headers={"Content-Type": content_type, **answer.headers})
