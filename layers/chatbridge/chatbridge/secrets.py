"""Provider connection credentials from Secrets Manager (`<prefix>/<provider>/<connection>`)."""

from __future__ import annotations

from typing import TypeVar

from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from pydantic import BaseModel, ValidationError

from chatbridge.aws import secrets_provider
from chatbridge.errors import ConfigurationError, FieldIssue, ProviderUnavailableError, UnknownConnectionError
from chatbridge.settings import get_settings

SECRET_CACHE_SECONDS = 300
ConnectionT = TypeVar("ConnectionT", bound=BaseModel)


def secret_name(provider: str, connection: str) -> str:
    return f"{get_settings().secrets_prefix}/{provider}/{connection}"


def load_connection(provider: str, connection: str, model: type[ConnectionT]) -> ConnectionT:
    name = secret_name(provider, connection)
    try:
        raw = secrets_provider().get(name, transform="json", max_age=SECRET_CACHE_SECONDS)
    except TransformParameterError as exc:
        raise ConfigurationError(f"Secret {name} is not a JSON object.", provider=provider) from exc
    except GetParameterError as exc:
        if "ResourceNotFoundException" in str(exc) or "can't find the specified secret" in str(exc):
            raise UnknownConnectionError(
                f"No connection named '{connection}' is configured for {provider}.",
                errors=[FieldIssue(field="connection", message=f"create the secret {name} first")],
                provider=provider,
            ) from exc
        raise ProviderUnavailableError(
            "Secrets Manager could not be read; try again.", title="Credential store unavailable"
        ) from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        # Only field names: the values are credentials.
        fields = ", ".join(".".join(str(p) for p in err["loc"]) for err in exc.errors())
        raise ConfigurationError(
            f"Secret {name} is missing or has invalid fields: {fields}.", provider=provider
        ) from exc
