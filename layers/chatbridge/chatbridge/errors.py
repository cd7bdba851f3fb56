"""Exceptions that carry their own problem description (RFC 9457).

Logic and provider code raise these; `chatbridge.edge.problems` turns them into responses in one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldIssue:
    field: str
    message: str


class ChatbridgeError(Exception):
    status: int = 500
    kind: str = "internal-error"
    title: str = "Internal error"
    # The resource the problem is about, where one was stored (its `id` and where to read it).
    resource_id: str | None = None
    location: str | None = None

    def __init__(
        self,
        detail: str,
        *,
        title: str | None = None,
        errors: list[FieldIssue] | None = None,
        provider: str | None = None,
        provider_code: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if title:
            self.title = title
        self.errors = errors or []
        self.provider = provider
        self.provider_code = provider_code


class BadRequestError(ChatbridgeError):
    status, kind, title = 400, "bad-request", "Malformed request"


class MalformedJsonError(BadRequestError):
    """A body that is not the strict UTF-8 JSON the edge accepts (`chatbridge.edge.body`)."""

    kind, title = "malformed-json", "Malformed JSON"


class UnauthorizedError(ChatbridgeError):
    status, kind, title = 401, "unauthorized", "Missing or invalid API key"


class ForbiddenError(ChatbridgeError):
    """A valid API key without the scope (or provider) a route needs; the problem names the scope."""

    status, kind, title = 403, "insufficient-scope", "API key lacks the scope this route needs"

    def __init__(self, detail: str, *, required_scope: str | None = None, title: str | None = None) -> None:
        super().__init__(detail, title=title)
        self.required_scope = required_scope


class NotFoundError(ChatbridgeError):
    status, kind, title = 404, "not-found", "Resource not found"


class ConflictError(ChatbridgeError):
    status, kind, title = 409, "conflict", "Conflict"


class PayloadTooLargeError(ChatbridgeError):
    status, kind, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaTypeError(ChatbridgeError):
    status, kind, title = 415, "unsupported-media-type", "Unsupported media type"


class ValidationFailedError(ChatbridgeError):
    status, kind, title = 422, "validation-error", "Request failed validation"


class UnknownConnectionError(ValidationFailedError):
    kind, title = "unknown-connection", "Unknown provider connection"


class ProviderRejectedError(ChatbridgeError):
    """The provider understood the call and refused the input."""

    status, kind, title = 422, "provider-rejected", "Provider rejected the request"


class ProviderConflictError(ProviderRejectedError):
    status, kind, title = 409, "provider-conflict", "Provider reports a duplicate"


class RateLimitedError(ChatbridgeError):
    """Too many calls for one provider credential: our own client-side limit, or the provider's 429."""

    status, kind, title = 429, "rate-limited", "Provider rate limit reached"


class ProviderAuthError(ChatbridgeError):
    status, kind, title = 502, "provider-credentials-refused", "Provider refused our credentials"


class ProviderUnavailableError(ChatbridgeError):
    status, kind, title = 502, "provider-unavailable", "Provider unavailable"


class ProviderTimeoutError(ChatbridgeError):
    status, kind, title = 504, "provider-timeout", "Provider did not answer in time"


class OutcomeUnknownError(ProviderTimeoutError):
    """A call that is not safe to repeat may have reached the provider, and no answer came back.

    Raised by the provider client (`cause` names the transport error); the integration stores the
    resource as `unknown` and the logic raises it again with that resource's id, so the answer
    (504) names what the client can read.
    """

    kind, title = "outcome-unknown", "Provider outcome unknown"

    def __init__(
        self,
        detail: str,
        *,
        title: str | None = None,
        provider: str | None = None,
        cause: str = "",
        resource_id: str | None = None,
        location: str | None = None,
    ) -> None:
        super().__init__(detail, title=title, provider=provider)
        self.cause = cause
        self.resource_id = resource_id
        self.location = location


class ConfigurationError(ChatbridgeError):
    status, kind, title = 500, "configuration-error", "Gateway misconfigured"
