"""The Lambda context of the invocation in progress, for code far from the handler signature."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

current_lambda_context: ContextVar[Any] = ContextVar("current_lambda_context", default=None)
