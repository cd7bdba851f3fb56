"""Watbot's public request models, with their OpenAPI examples."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from chatbridge.models.base import Model
from chatbridge.models.fields import ConnectionName


class WatbotMessageRequest(Model):
    """Reply to a Watbot contact (`sendMessage`): exactly one of `text`, `image` or `file`."""

    model_config = ConfigDict(
        defer_build=True,
        extra="forbid",
        title="WatbotMessage",
        json_schema_extra={"examples": [{"provider": "watbot", "contact_id": "1542", "text": "Здравствуйте! 👋"}]},
    )

    provider: Literal["watbot"]
    connection: ConnectionName = "default"
    contact_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    text: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = None
    image: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2048)] | None = None
    file: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2048)] | None = None

    @model_validator(mode="after")
    def _exactly_one_content(self) -> WatbotMessageRequest:
        given = [name for name in ("text", "image", "file") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of text, image or file")
        return self


MESSAGING_REQUESTS: dict[str, type[BaseModel]] = {"messages": WatbotMessageRequest}
# What the API reference says of this provider, per operation.
NOTES: dict[str, str] = {
    "messages": "`sendMessage` to a contact.",
}
