"""The one place where logging, tracing and metrics are configured."""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer


def _log_line(record: dict[str, Any]) -> str:
    """Powertools' JSON line (non-ASCII kept readable), unless it holds text UTF-8 cannot write (a lone
    surrogate): then non-ASCII is escaped, so the line is written instead of failing."""
    line = json.dumps(record, default=str, separators=(",", ":"), ensure_ascii=False)
    if line.isascii():
        return line
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(record, default=str, separators=(",", ":"))
    return line


logger = Logger(json_serializer=_log_line)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Chatbridge"))

# httpx logs full URLs at INFO; some providers (Watbot) carry credentials in the query string.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)
# botocore logs whole requests and responses at DEBUG (secret values, API key hashes, bodies): even
# a root logger set to DEBUG while debugging must not put them in CloudWatch.
for _noisy in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_noisy).setLevel(logging.INFO)
# Read-only routes publish no metrics; Powertools would warn on every such invocation.
warnings.filterwarnings("ignore", message="No application metrics to publish")

Handler = TypeVar("Handler", bound=Callable[..., Any])


def tracing_enabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower() not in ("1", "true")


@cache
def get_tracer() -> Tracer:
    """The X-Ray tracer, built on first use.

    Building it loads the X-Ray SDK, which creates a botocore client at import (~100 ms). Where
    tracing is off (tests, the local stack) that cost is never paid; in Lambda it is paid once.
    """
    from aws_lambda_powertools import Tracer

    return Tracer()


def traced(handler: Handler) -> Handler:
    """`Tracer.capture_lambda_handler`, applied on the first call instead of at import.

    Responses are never recorded (`capture_response=False`, and POWERTOOLS_TRACER_CAPTURE_RESPONSE
    is "false" on every function in template.yaml): they hold chat-token URLs and new API keys.
    """
    captured: list[Callable[..., Any]] = []

    def invoke(event: Any, context: Any) -> Any:
        if not tracing_enabled():
            return handler(event, context)
        if not captured:
            captured.append(get_tracer().capture_lambda_handler(handler, capture_response=False))
        return captured[0](event, context)

    return invoke  # type: ignore[return-value]


def record_provider_call(provider: str, operation: str, outcome: str, elapsed_ms: float) -> None:
    # The provider is part of the metric name, not a dimension: one invocation may call several
    # providers (or one twice), and dimensions are shared by every metric of the invocation.
    metrics.add_metric(name=f"{provider}.{operation}.{outcome}", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=f"{provider}.{operation}.latency", unit=MetricUnit.Milliseconds, value=elapsed_ms)
