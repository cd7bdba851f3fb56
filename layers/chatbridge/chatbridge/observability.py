"""The one place where logging, tracing and metrics are configured."""

from __future__ import annotations

import logging
import warnings
import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Chatbridge"))

# httpx logs full URLs at INFO; some providers (Watbot) carry credentials in the query string.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)


def record_provider_call(provider: str, operation: str, outcome: str, elapsed_ms: float) -> None:
    metrics.add_dimension(name="provider", value=provider)
    metrics.add_metric(name=f"{operation}.{outcome}", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=f"{operation}.latency", unit=MetricUnit.Milliseconds, value=elapsed_ms)

# Read-only routes publish no metrics; Powertools would warn on every such invocation.
warnings.filterwarnings("ignore", message="No application metrics to publish")
