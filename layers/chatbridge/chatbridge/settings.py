"""Environment of every function, validated once at cold start."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, Field, ValidationError

from chatbridge.errors import ConfigurationError


class Settings(BaseModel):
    table_name: str = Field(min_length=1)
    secrets_prefix: str = Field(default="chatbridge", min_length=1)
    event_bus_name: str | None = None
    service_name: str = "chatbridge"
    # KMS key sealing provider-issued credentials (Imbee users); only the functions that handle them need it.
    credentials_key_id: str | None = None
    # KMS key sealing pagination tokens (chatbridge.page_tokens); only the functions that page need it.
    page_token_key_id: str | None = None


@cache
def get_settings() -> Settings:
    try:
        return Settings(
            table_name=os.environ.get("TABLE_NAME", ""),
            secrets_prefix=os.environ.get("SECRETS_PREFIX", "chatbridge"),
            event_bus_name=os.environ.get("EVENT_BUS_NAME") or None,
            service_name=os.environ.get("POWERTOOLS_SERVICE_NAME", "chatbridge"),
            credentials_key_id=os.environ.get("CREDENTIALS_KEY_ID") or None,
            page_token_key_id=os.environ.get("PAGE_TOKEN_KEY_ID") or None,
        )
    except ValidationError as exc:
        fields = ", ".join(str(err["loc"][0]).upper() for err in exc.errors())
        raise ConfigurationError(f"environment is incomplete: {fields}") from exc
