"""Webhook ingestion: authenticate, parse, dedupe, store. Nothing else runs while the provider waits.

Applying an event (to a registration or a message) and publishing it happen later, in the events
processor fed by the table's stream, so the answer takes one secret lookup (cached) and one
conditional put.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from pydantic import SecretStr

from chatbridge.aws import secrets_provider
from chatbridge.clock import derived_id, utc_now
from chatbridge.edge.body import json_object
from chatbridge.errors import ConfigurationError, NotFoundError, ProviderUnavailableError, UnauthorizedError
from chatbridge.integrations import registry
from chatbridge.models.events import CallbackReceipt
from chatbridge.observability import logger
from chatbridge.settings import get_settings
from chatbridge.store.base import EventStore, get_event_store
from chatbridge.store.items import EventItem, expiry_for

TOKEN_CACHE_SECONDS = 300
CallbackTokens = Mapping[str, SecretStr]


def callback_tokens() -> CallbackTokens:
    """`<prefix>/callbacks`: `{"<provider>": "<token>"}`, cached like every secret."""
    name = f"{get_settings().secrets_prefix}/callbacks"
    try:
        raw = secrets_provider().get(name, transform="json", max_age=TOKEN_CACHE_SECONDS)
    except TransformParameterError as exc:
        raise ConfigurationError(f"Secret {name} is not a JSON object.") from exc
    except GetParameterError as exc:
        if "ResourceNotFoundException" in str(exc) or "can't find the specified secret" in str(exc):
            raise ConfigurationError(f"Secret {name} does not exist: no callback can be accepted.") from exc
        # a 5xx makes the provider deliver again later, which is what we want here
        raise ProviderUnavailableError(
            "Secrets Manager could not be read; deliver again later.", title="Credential store unavailable"
        ) from exc
    if not isinstance(raw, dict):
        raise ConfigurationError(f"Secret {name} must be a JSON object of provider -> token.")
    return {str(provider): SecretStr(str(token)) for provider, token in raw.items() if token}


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


# Compared when the provider has no token, so a refusal costs the same whatever the reason.
_NO_TOKEN = _digest("no token is configured for this provider")


def known_provider(provider: str) -> None:
    """NotFoundError unless `provider` sends webhooks we read. Checked before the token, and says
    nothing about tokens: which providers exist is public (the OpenAPI document lists them)."""
    known = registry.callback_providers()
    if provider not in known:
        raise NotFoundError(
            f"No provider sends webhooks to this URL: the provider part must be one of {', '.join(known)}.",
            title="Unknown callback provider",
        )


def authenticate(provider: str, token: str, tokens: CallbackTokens) -> None:
    """Constant time: digests of equal length are compared, whatever the lengths of the tokens."""
    # a token configured for a provider whose webhooks we do not read is ignored
    expected = tokens.get(provider) if provider in registry.callback_providers() else None
    reference = _digest(expected.get_secret_value()) if expected else _NO_TOKEN
    matches = hmac.compare_digest(_digest(token), reference)
    if not (matches and expected):
        raise UnauthorizedError("The callback URL's token is not valid.", title="Invalid callback token")


def receive_callback(
    provider: str,
    token: str,
    body: bytes,
    *,
    store: EventStore | None = None,
    tokens: CallbackTokens | None = None,
) -> CallbackReceipt:
    known_provider(provider)
    authenticate(provider, token, callback_tokens() if tokens is None else tokens)
    text, parsed = json_object(body)
    facts = registry.webhooks(provider).describe(parsed)
    dedupe_key = (
        f"event_id:{facts.provider_event_id}"
        if facts.provider_event_id
        else f"sha256:{hashlib.sha256(body).hexdigest()}"
    )
    received_at = utc_now()
    item = EventItem(
        id=derived_id("event", provider, dedupe_key),
        provider=provider,
        dedupe_key=dedupe_key,
        recognised=facts.recognised,
        subject_ref=facts.subject_ref,
        occurred_at=facts.occurred_at,
        received_at=received_at,
        raw=text,
        expires_at=expiry_for(received_at),
    )
    stored = (store or get_event_store()).add_event(item)
    # The stored item is the record of every delivery; a log line for each would cost more than the
    # rest of the handler's own work (~50 µs). Only what deserves a look is logged at INFO.
    if stored and item.recognised:
        logger.debug("callback %s", "stored", extra={"provider": provider, "event_id": item.id})
    else:
        # a %s argument: Powertools then skips trying to parse the message as JSON
        logger.info(
            "callback %s",
            "unrecognised" if stored else "duplicate",
            extra={"provider": provider, "event_id": item.id, "event_type": facts.event_type},
        )
    return CallbackReceipt(id=item.id, duplicate=not stored, recognised=item.recognised)
