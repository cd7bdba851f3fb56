"""Environment shared by every test: region, dummy credentials, and a clean slate of caches."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("TABLE_NAME", "chatbridge-test")
os.environ.setdefault("SECRETS_PREFIX", "chatbridge")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "chatbridge")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Chatbridge")
os.environ.setdefault("AWS_LAMBDA_FUNCTION_NAME", "chatbridge-test")
for endpoint_variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SECRETS_MANAGER"):
    os.environ.pop(endpoint_variable, None)


def _default_caller_has_every_scope() -> None:
    """`tests.support.api_event`'s default caller is a key with every scope, as the authorizer
    would describe it (chatbridge.access.authorizer_context). Set here because tests/support.py is
    being reorganised on another branch; this belongs in its API_KEY_CONTEXT once both land."""
    from chatbridge.access import SCOPES, authorizer_context
    from tests import support

    support.API_KEY_CONTEXT.update(authorizer_context("test-key-id", "tests", SCOPES, (), None))


_default_caller_has_every_scope()


def reset_caches() -> None:
    from aws_lambda_powertools.utilities import parameters

    from chatbridge import aws, idempotency
    from chatbridge.integrations.http import http_pool
    from chatbridge.settings import get_settings
    from chatbridge.webhooks.secrets import forget_opened
    from chatbridge.webhooks.sender import sender_pool

    parameters.clear_caches()
    parameters.base.DEFAULT_PROVIDERS.clear()
    aws.reset_clients()

    get_settings.cache_clear()
    idempotency.reset()
    http_pool.reset()
    sender_pool.reset()
    forget_opened()


@pytest.fixture(autouse=True)
def _clean_caches() -> Iterator[None]:
    reset_caches()
    yield
    reset_caches()
