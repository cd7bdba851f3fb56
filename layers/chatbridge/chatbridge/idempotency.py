"""`Idempotency-Key` support: Powertools idempotency persisted in the application table.

A key is scoped to the caller (API key id) and the operation, and bound to the request body: the
same key with another body is refused instead of silently replaying the first answer.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)

from chatbridge.errors import ConflictError, FieldIssue, ProviderUnavailableError, ValidationFailedError
from chatbridge.invocation import current_lambda_context

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
Computation = Callable[[], dict[str, Any]]


@cache
def _runner() -> tuple[Callable[..., dict[str, Any]], IdempotencyConfig]:
    from chatbridge.aws import dynamodb_client
    from chatbridge.settings import get_settings

    persistence = DynamoDBPersistenceLayer(
        table_name=get_settings().table_name,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value="IDEMPOTENCY",
        expiry_attr="expires_at",
        boto3_client=dynamodb_client(),
    )
    config = IdempotencyConfig(
        event_key_jmespath="[operation, caller, key]",
        payload_validation_jmespath="payload",
        expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
        raise_on_no_idempotency_key=True,
    )

    @idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config)
    def run(request: dict[str, Any], compute: Computation) -> dict[str, Any]:
        return compute()

    return run, config


def run_once(
    operation: str, key: str | None, caller: str, payload: dict[str, Any], compute: Computation
) -> dict[str, Any]:
    """Run `compute` once per (operation, caller, key); later calls get the stored answer.

    A failed computation (an exception: refused input, a provider's error answer, a call that
    never left) leaves no record, so the client may retry with the same key. A provider call that
    may have gone through unanswered is not a failure here: the logic returns its `unknown`
    resource, which is kept and replayed, so a retry never sends it again.
    """
    if not key:
        return compute()
    request = {"operation": operation, "caller": caller, "key": key, "payload": payload}
    run, config = _runner()
    context = current_lambda_context.get()
    if context is not None:
        # lets Powertools bound an in-progress record by the invocation's remaining time
        config.register_lambda_context(context)
    try:
        return run(request=request, compute=compute)
    except IdempotencyAlreadyInProgressError as exc:
        raise ConflictError(
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            title="Request in progress",
        ) from exc
    except IdempotencyValidationError as exc:
        raise ValidationFailedError(
            "This Idempotency-Key was already used with a different request body.",
            title="Idempotency-Key reused",
            errors=[FieldIssue(field="Idempotency-Key", message="use a new key for a different request")],
        ) from exc
    except IdempotencyPersistenceLayerError as exc:
        raise ProviderUnavailableError(
            "The idempotency store could not be reached; nothing was sent.", title="Idempotency store unavailable"
        ) from exc


def reset() -> None:
    _runner.cache_clear()
