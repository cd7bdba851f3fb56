"""DynamoDB item models: the single-table key layout lives here and only here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class RegistrationItem(BaseModel):
    id: str
    provider: str
    connection: str
    status: str
    user_id: str
    provider_ref: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def key(registration_id: str) -> dict[str, str]:
        return {"pk": f"REG#{registration_id}", "sk": "REG"}

    @staticmethod
    def user_index_key(provider: str, user_id: str) -> str:
        return f"REGUSER#{provider}#{user_id}"

    def keys(self) -> dict[str, str]:
        return {
            **self.key(self.id),
            "gsi1pk": self.user_index_key(self.provider, self.user_id),
            "gsi1sk": f"REG#{self.id}",
        }


class ApiKeyItem(BaseModel):
    key_hash: str
    key_id: str
    name: str
    created_at: datetime
    active: bool = True

    @staticmethod
    def key(key_hash: str) -> dict[str, str]:
        return {"pk": f"APIKEY#{key_hash}", "sk": "APIKEY"}
