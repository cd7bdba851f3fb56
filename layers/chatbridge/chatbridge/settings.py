"""Environment of every function, validated once at cold start."""

from __future__ import annotations

import os
from functools import cache
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from chatbridge.errors import ConfigurationError

# Svix's public schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DEFAULT_RETRY_SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
MAX_RETRY_DELAY = 12 * 3600


class Settings(BaseModel):
    table_name: str = Field(min_length=1)
    secrets_prefix: str = Field(default="chatbridge", min_length=1)
    event_bus_name: str | None = None
    service_name: str = "chatbridge"
    # KMS key sealing provider-issued credentials (Imbee users); only the functions that handle them need it.
    credentials_key_id: str | None = None
    # KMS key sealing pagination tokens (chatbridge.page_tokens); only the functions that page need it.
    page_token_key_id: str | None = None
    # webhooks to the operator's bots (see chatbridge.logic.deliveries)
    webhook_deliveries_queue_url: str | None = None
    webhook_secrets_key_id: str | None = None
    # seconds to wait before each attempt: the first is immediate; SQS holds a message 12 h at most
    webhook_retry_schedule: tuple[int, ...] = DEFAULT_RETRY_SCHEDULE
    # public: https to public addresses only; local: also http and loopback (the local stack)
    webhook_url_policy: Literal["public", "local"] = "public"
    events_dead_letter_queue_url: str | None = None

    @field_validator("webhook_retry_schedule", mode="before")
    @classmethod
    def _schedule_from_text(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(int(part) for part in value.split(",") if part.strip())
        return value

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _schedule_fits_sqs(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or len(value) > 20 or any(not 0 <= delay <= MAX_RETRY_DELAY for delay in value):
            raise ValueError(f"1 to 20 delays of 0 to {MAX_RETRY_DELAY} seconds")
        return value


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
            webhook_deliveries_queue_url=os.environ.get("WEBHOOK_DELIVERIES_QUEUE_URL") or None,
            webhook_secrets_key_id=os.environ.get("WEBHOOK_SECRETS_KEY_ID") or None,
            webhook_retry_schedule=os.environ.get("WEBHOOK_RETRY_SCHEDULE") or DEFAULT_RETRY_SCHEDULE,
            webhook_url_policy=os.environ.get("WEBHOOK_URL_POLICY") or "public",
            events_dead_letter_queue_url=os.environ.get("EVENTS_DEAD_LETTER_QUEUE_URL") or None,
        )
    except ValidationError as exc:
        fields = ", ".join(str(err["loc"][0]).upper() for err in exc.errors())
        raise ConfigurationError(f"environment is incomplete: {fields}") from exc
