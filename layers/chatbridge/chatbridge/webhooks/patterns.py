"""Event type patterns of subscriptions: `biway.message.read`, `biway.message.*`, `biway.*`, `*`.

Types are dot-separated lowercase segments. In a pattern a `*` segment stands for exactly one
segment, except in last place, where it stands for one or more: `a.*` covers `a.b` and `a.b.c`;
`*.message.read` covers `x.message.read`; `*` alone covers every type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SEGMENT = re.compile(r"^[a-z0-9_-]{1,64}$")
MAX_PATTERN_LENGTH = 200


def valid_pattern(pattern: str) -> bool:
    if not pattern or len(pattern) > MAX_PATTERN_LENGTH:
        return False
    return all(segment == "*" or SEGMENT.match(segment) for segment in pattern.split("."))


def matches(pattern: str, event_type: str) -> bool:
    wanted, given = pattern.split("."), event_type.split(".")
    for position, segment in enumerate(wanted):
        last = position == len(wanted) - 1
        if last and segment == "*":
            return len(given) > position
        if position >= len(given) or (segment != "*" and segment != given[position]):
            return False
    return len(given) == len(wanted)


def subscribes(patterns: Iterable[str], event_type: str) -> bool:
    return any(matches(pattern, event_type) for pattern in patterns)
