"""X-Ray: handler responses (chat-token URLs, new API keys) are never recorded."""

from __future__ import annotations

from typing import Any

from chatbridge import observability


class FakeTracer:
    def __init__(self) -> None:
        self.options: list[dict[str, Any]] = []

    def capture_lambda_handler(self, handler: Any, **options: Any) -> Any:
        self.options.append(options)
        return handler


def test_traced_handlers_never_capture_their_response(monkeypatch) -> None:
    tracer = FakeTracer()
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    monkeypatch.setattr(observability, "get_tracer", lambda: tracer)

    handler = observability.traced(lambda event, context: {"url": "https://chat.example/secret"})

    assert handler({}, None) == {"url": "https://chat.example/secret"}
    assert tracer.options == [{"capture_response": False}]
