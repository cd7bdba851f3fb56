"""Request parameters shared by several routes."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Send one with every POST. Retries with the same key return the first answer (a 504 "
        "`outcome-unknown` included); the provider is called once.",
    ),
]
