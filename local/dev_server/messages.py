"""HTTP requests and responses as the emulation sees them, independent of sockets."""

from __future__ import annotations

import json
from dataclasses import dataclass

from local.ports import LOOPBACK


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # path and query string exactly as received
    headers: list[tuple[str, str]]  # in arrival order, names as sent
    body: bytes
    source_ip: str = LOOPBACK
    protocol: str = "HTTP/1.1"
    host: str = LOOPBACK


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def gateway_answer(status: int, message: str) -> HttpResponse:
    """A response API Gateway produces itself, without reaching a function."""
    body = json.dumps({"message": message}, separators=(",", ":")).encode("utf-8")
    return HttpResponse(status, [("Content-Type", "application/json")], body)
