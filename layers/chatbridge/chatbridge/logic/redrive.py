"""Redrive of the events processor's dead-letter queue: re-process what failed.

Lambda's on-failure destination for a DynamoDB stream receives a batch's metadata (`DDBStreamBatchInfo`:
stream, shard, first and last sequence numbers), not its records. So each message is turned back
into records by reading that range of the stream; each new item the range holds (the INSERTs the
processor's filter lets through) is read from the table as it is now and handed to the same
function the processor runs. That function is idempotent: an event already processed is skipped,
an applied state is not applied twice. A message is deleted only once all its records went
through; otherwise it stays for the next redrive (and the report says why).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from chatbridge.dead_letters import DeadLetter
from chatbridge.models.webhooks import RedriveReport
from chatbridge.observability import logger
from chatbridge.store.items import EVENT_ENTITY
from chatbridge.store.stream import RESOURCE_SORT_KEYS, StreamChange, StreamRangeUnavailableError

MAX_BATCHES = 10
Reprocess = Callable[[dict[str, Any]], str]


class DeadLetterQueue(Protocol):
    def receive(self, limit: int) -> list[DeadLetter]: ...

    def delete(self, receipt: str) -> None: ...


class StreamReader(Protocol):
    def changes_between(self, stream_arn: str, shard_id: str, first: str, last: str) -> list[StreamChange]: ...

    def load(self, keys: dict[str, str]) -> dict[str, Any] | None: ...


def _processed_before(item: dict[str, Any]) -> bool:
    return item.get("entity") == EVENT_ENTITY and item.get("status") == "processed"


def _wanted(item: dict[str, Any]) -> bool:
    """What the processor's filter passes: provider events, new registrations and messages."""
    return item.get("entity") == EVENT_ENTITY or item.get("sk") in RESOURCE_SORT_KEYS


def redrive(
    queue: DeadLetterQueue,
    stream: StreamReader,
    reprocess: Reprocess | None = None,
    *,
    max_batches: int = MAX_BATCHES,
) -> RedriveReport:
    if reprocess is None:
        from chatbridge.logic.events import process_stored_item

        reprocess = process_stored_item
    report = RedriveReport(
        batches=0, redriven=0, kept=0, records=0, reapplied=0, already_processed=0, other=0, failed=0
    )
    while report.batches < max_batches:
        letters = queue.receive(max_batches - report.batches)
        if not letters:
            break
        for letter in letters:
            report.batches += 1
            if _redrive_one(letter, stream, reprocess, report):
                queue.delete(letter.receipt)
                report.redriven += 1
            else:
                report.kept += 1
    logger.info("dead letters %s", "redriven", extra=report.model_dump(exclude={"problems"}))
    return report


def _redrive_one(letter: DeadLetter, stream: StreamReader, reprocess: Reprocess, report: RedriveReport) -> bool:
    info = letter.body.get("DDBStreamBatchInfo")
    if not isinstance(info, dict) or not all(
        isinstance(info.get(k), str) for k in ("streamArn", "shardId", "startSequenceNumber", "endSequenceNumber")
    ):
        report.problems.append("a message without DDBStreamBatchInfo was kept")
        return False
    try:
        changes = stream.changes_between(
            info["streamArn"], info["shardId"], info["startSequenceNumber"], info["endSequenceNumber"]
        )
    except StreamRangeUnavailableError as exc:
        report.problems.append(f"shard {info['shardId']} {info['startSequenceNumber']}..: {exc}")
        return False
    complete = True
    for change in changes:
        if change.event_name != "INSERT":
            continue
        report.records += 1
        item = stream.load(change.keys)
        if item is None or not _wanted(item):
            report.other += 1  # expired (TTL) or not something the processor handles
            continue
        if _processed_before(item):
            report.already_processed += 1
            continue
        try:
            reprocess(item)
        except Exception as exc:
            logger.exception("redrive of a record failed", extra={"pk": change.keys.get("pk")})
            report.failed += 1
            report.problems.append(f"{change.keys.get('pk')}: {type(exc).__name__}")
            complete = False
            continue
        report.reapplied += 1
    return complete
