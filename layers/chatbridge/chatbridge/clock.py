"""Time and identifiers, in one place so tests can reason about them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

# Fixed namespace: ids derived from a provider's natural key stay stable across deployments.
CHATBRIDGE_NAMESPACE = uuid.UUID("6f1c2a8e-3b7d-5e0f-9a4c-2d8b1e7f6a30")


def utc_now() -> datetime:
    return datetime.now(UTC)


def derived_id(*parts: str) -> str:
    return str(uuid.uuid5(CHATBRIDGE_NAMESPACE, "|".join(parts)))


def random_id() -> str:
    return str(uuid.uuid4())
