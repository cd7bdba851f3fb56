"""How much of what the local stack records it keeps: the recent past, never everything.

`make dev` runs for hours. A list that every request, delivery or event appends to and nothing
empties grows for as long as it runs, and whatever scans it (a count, a lookup, moto's SQS on an
undrained queue) slows down with it. The stack keeps the last `RECENT` of each such record: enough
for the demo, the tests and the benchmarks to look back on what they just did.
"""

from __future__ import annotations

from typing import Any

RECENT = 5_000


def keep_recent(records: list[Any], limit: int = RECENT) -> None:
    """Drop the oldest of `records` (in place) once it holds twice `limit`: amortised O(1) per
    append, and the list stays a list (readers compare it, index it, serialise it)."""
    if len(records) >= 2 * limit:
        del records[: len(records) - limit]
