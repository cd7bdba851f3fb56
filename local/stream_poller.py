"""Lambda's DynamoDB stream event source mapping, emulated for the local stack.

Everything comes from the function's `Type: DynamoDB` event in template.yaml: batch size, batching
window, starting position, filter criteria, maximum retry attempts and record age, bisect on error,
partial batch responses (ReportBatchItemFailures) and the on-failure destination. Semantics follow
Lambda's documentation for DynamoDB streams:

- records that do not match the filter criteria are dropped, never delivered;
- records of a shard are delivered in order, one batch at a time; a child shard waits for its parent;
- a batch succeeds when the function returns no `batchItemFailures`; a reported failure makes the
  batch resume from the failed record with the lowest sequence number (the records after it come
  again: the function must be idempotent); an empty or unknown `itemIdentifier`, an exception or an
  unreadable answer fails the whole batch, which is split in two when bisect is on;
- every re-invocation counts as a retry; past MaximumRetryAttempts (or MaximumRecordAgeInSeconds) the
  remaining records are skipped and a message describing them (`DDBStreamBatchInfo`, the format
  Lambda sends) goes to the on-failure SQS queue, and the shard moves on.

The handler runs in this process through local.lambda_runtime.invoke, one invocation at a time
with the dev server's (Powertools keeps the current event in class attributes, so two invocations
must never overlap).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local.lambda_runtime import Handler, invoke
from local.retention import keep_recent
from local.template import load_template, resources

log = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 0.25  # Lambda polls each shard of a DynamoDB stream four times a second
SHARD_REFRESH_SECONDS = 2.0
GET_RECORDS_LIMIT = 1000

Record = dict[str, Any]


# -- configuration from template.yaml ------------------------------------------------------------


@dataclass(frozen=True)
class StreamMapping:
    function: str
    batch_size: int = 100
    batching_window_seconds: float = 0.0
    starting_position: str = "LATEST"
    maximum_retry_attempts: int = -1  # -1: until the record expires
    maximum_record_age_seconds: int = -1
    bisect_on_error: bool = False
    report_batch_item_failures: bool = False
    filters: tuple[dict[str, Any], ...] = ()
    on_failure: str | None = None  # logical id of the destination queue


def stream_mappings() -> list[StreamMapping]:
    """Every `Type: DynamoDB` event of template.yaml's functions."""
    mappings = []
    for name, function in resources("AWS::Serverless::Function").items():
        for event in (function["Properties"].get("Events") or {}).values():
            if event["Type"] != "DynamoDB":
                continue
            props = event["Properties"]
            filters = tuple(json.loads(f["Pattern"]) for f in (props.get("FilterCriteria") or {}).get("Filters", []))
            for pattern in filters:
                check_pattern(pattern)
            destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            mappings.append(
                StreamMapping(
                    function=name,
                    batch_size=int(props.get("BatchSize", 100)),
                    batching_window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                    starting_position=props["StartingPosition"],
                    maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
                    maximum_record_age_seconds=int(props.get("MaximumRecordAgeInSeconds", -1)),
                    bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
                    report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                    filters=filters,
                    on_failure=_logical_id(destination),
                )
            )
    return mappings


def _logical_id(reference: Any) -> str | None:
    if isinstance(reference, dict) and "Fn::GetAtt" in reference:
        target = reference["Fn::GetAtt"]
        return str(target.split(".")[0] if isinstance(target, str) else target[0])
    return None


def queue_logical_ids() -> list[str]:
    return list(resources("AWS::SQS::Queue"))


def event_bus_logical_ids() -> list[str]:
    return [name for name, r in load_template()["Resources"].items() if r["Type"] == "AWS::Events::EventBus"]


# -- filter criteria (the EventBridge pattern syntax Lambda uses) --------------------------------

_RULES = {"prefix", "suffix", "exists", "anything-but", "numeric", "equals-ignore-case"}


def check_pattern(pattern: Mapping[str, Any]) -> None:
    """Fail at start-up, not silently at runtime, on a pattern feature this emulation lacks."""
    for value in pattern.values():
        if isinstance(value, Mapping):
            check_pattern(value)
        elif isinstance(value, list):
            for rule in value:
                if isinstance(rule, Mapping) and not set(rule) <= _RULES:
                    raise ValueError(f"unsupported filter rule {sorted(rule)}")
        else:
            raise ValueError("filter pattern values must be objects or arrays")


def pattern_matches(pattern: Mapping[str, Any], data: Any) -> bool:
    if not isinstance(data, Mapping):
        return False
    for key, expected in pattern.items():
        present = key in data
        value = data.get(key)
        if isinstance(expected, Mapping):
            if not pattern_matches(expected, value):
                return False
        elif not any(_rule_matches(rule, present, value) for rule in expected):
            return False
    return True


def _rule_matches(rule: Any, present: bool, value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    if not isinstance(rule, Mapping):
        return present and any(v == rule for v in values)
    if "exists" in rule:
        return present is bool(rule["exists"])
    if not present:
        return False
    if "prefix" in rule:
        return any(isinstance(v, str) and v.startswith(rule["prefix"]) for v in values)
    if "suffix" in rule:
        return any(isinstance(v, str) and v.endswith(rule["suffix"]) for v in values)
    if "equals-ignore-case" in rule:
        return any(isinstance(v, str) and v.lower() == str(rule["equals-ignore-case"]).lower() for v in values)
    if "anything-but" in rule:
        excluded = rule["anything-but"] if isinstance(rule["anything-but"], list) else [rule["anything-but"]]
        return all(v not in excluded for v in values)
    if "numeric" in rule:
        return any(_numeric(rule["numeric"], v) for v in values)
    return False


def _numeric(conditions: list[Any], value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    checks: dict[str, Callable[[float, float], bool]] = {
        "=": lambda a, b: a == b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    pairs = zip(conditions[::2], conditions[1::2], strict=True)
    return all(checks[operator](float(value), float(bound)) for operator, bound in pairs)


# -- records ---------------------------------------------------------------------------------------


def lambda_record(raw: Record, stream_arn: str) -> Record:
    """A GetRecords record as Lambda hands it to a function (creation time as Unix seconds)."""
    dynamodb = dict(raw["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = created.timestamp()
    return {
        "eventID": raw.get("eventID"),
        "eventName": raw.get("eventName"),
        "eventVersion": raw.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": raw.get("awsRegion"),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def _created_at(record: Record) -> float:
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    return float(created) if isinstance(created, int | float) else time.time()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# -- delivery ------------------------------------------------------------------------------------


@dataclass
class InvocationResult:
    """`None` retry_from: the batch succeeded; else the index the retry starts at."""

    retry_from: int | None = None
    function_error: bool = False


@dataclass
class DeliveryStats:
    invocations: int = 0
    delivered: int = 0
    filtered_out: int = 0
    sent_to_dlq: int = 0
    dlq_messages: list[dict[str, Any]] = field(default_factory=list)


class BatchDelivery:
    """The per-batch half of the event source mapping: invoke, retry, bisect, give up to the DLQ.

    Socket-free: `invoke` calls the handler, `send_to_dlq` receives the on-failure message.
    """

    def __init__(
        self,
        mapping: StreamMapping,
        invoke: Callable[[dict[str, Any]], Any],
        send_to_dlq: Callable[[dict[str, Any]], None] | None,
        *,
        function_arn: str,
        stream_arn: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.mapping = mapping
        self._invoke = invoke
        self._send_to_dlq = send_to_dlq
        self._function_arn = function_arn
        self._stream_arn = stream_arn
        self._clock = clock
        self.stats = DeliveryStats()

    def deliver(self, shard_id: str, records: list[Record]) -> None:
        pending: deque[tuple[list[Record], int]] = deque([(records, 0)])
        while pending:
            batch, retries = pending.popleft()
            batch = self._drop_expired(shard_id, batch, retries)
            if not batch:
                continue
            result = self._attempt(batch)
            if result.retry_from is None:
                self.stats.delivered += len(batch)
                continue
            self.stats.delivered += result.retry_from
            remaining = batch[result.retry_from :]
            limit = self.mapping.maximum_retry_attempts
            if 0 <= limit <= retries:
                self._give_up(shard_id, remaining, "RetryAttemptsExhausted", retries + 1, result.function_error)
                continue
            if result.function_error and self.mapping.bisect_on_error and len(remaining) > 1:
                middle = len(remaining) // 2
                pending.appendleft((remaining[middle:], retries + 1))
                pending.appendleft((remaining[:middle], retries + 1))
            else:
                pending.appendleft((remaining, retries + 1))

    def _drop_expired(self, shard_id: str, batch: list[Record], retries: int) -> list[Record]:
        age_limit = self.mapping.maximum_record_age_seconds
        if age_limit < 0:
            return batch
        now = self._clock()
        expired = [r for r in batch if now - _created_at(r) > age_limit]
        if expired:
            self._give_up(shard_id, expired, "RecordAgeExceeded", retries, False)
        return [r for r in batch if now - _created_at(r) <= age_limit]

    def _attempt(self, batch: list[Record]) -> InvocationResult:
        self.stats.invocations += 1
        try:
            answer = self._invoke({"Records": batch})
        except Exception:
            log.warning("%s failed on a batch of %d:\n%s", self.mapping.function, len(batch), traceback.format_exc())
            return InvocationResult(retry_from=0, function_error=True)
        if not self.mapping.report_batch_item_failures:
            return InvocationResult()
        return self._read_partial_response(answer, batch)

    @staticmethod
    def _read_partial_response(answer: Any, batch: list[Record]) -> InvocationResult:
        if answer is None or (isinstance(answer, Mapping) and not answer.get("batchItemFailures")):
            return InvocationResult()
        failures = answer.get("batchItemFailures") if isinstance(answer, Mapping) else None
        if not isinstance(failures, list):
            return InvocationResult(retry_from=0, function_error=True)
        positions = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(batch)}
        indexes = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
            if not identifier or identifier not in positions:
                # Lambda treats an empty, null or unknown identifier as a failure of the whole batch
                return InvocationResult(retry_from=0, function_error=True)
            indexes.append(positions[identifier])
        return InvocationResult(retry_from=min(indexes))

    def _give_up(
        self, shard_id: str, records: list[Record], condition: str, invocations: int, function_error: bool
    ) -> None:
        first, last = records[0], records[-1]
        message: dict[str, Any] = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self._function_arn,
                "condition": condition,
                "approximateInvokeCount": invocations,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
            "version": "1.0",
            "timestamp": _iso(self._clock()),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": first["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": last["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(_created_at(first)),
                "approximateArrivalOfLastRecord": _iso(_created_at(last)),
                "batchSize": len(records),
                "streamArn": self._stream_arn,
            },
        }
        if function_error:
            message["responseContext"]["functionError"] = "Unhandled"
        log.error(
            "%s: %d record(s) of shard %s skipped (%s); described in the on-failure queue",
            self.mapping.function,
            len(records),
            shard_id,
            condition,
        )
        self.stats.sent_to_dlq += len(records)
        self.stats.dlq_messages.append(message)
        keep_recent(self.stats.dlq_messages)
        if self._send_to_dlq is not None:
            self._send_to_dlq(message)


# -- polling -------------------------------------------------------------------------------------


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    iterator: str | None = None
    finished: bool = False


class StreamPoller:
    """Polls a table's stream and feeds one function, as one event source mapping does."""

    def __init__(
        self,
        mapping: StreamMapping,
        handler: Handler,
        *,
        streams_client: Any,
        stream_arn: str,
        context_factory: Callable[[], Any],
        send_to_dlq: Callable[[dict[str, Any]], None] | None,
        function_arn: str,
        poll_interval: float = POLL_INTERVAL_SECONDS,
    ) -> None:
        self.mapping = mapping
        self._handler = handler
        self._streams = streams_client
        self._stream_arn = stream_arn
        self._context_factory = context_factory
        self._poll_interval = poll_interval
        self.delivery = BatchDelivery(
            mapping, self._invoke, send_to_dlq, function_arn=function_arn, stream_arn=stream_arn
        )
        self._shards: dict[str, _Shard] = {}
        self._known_at_start: set[str] | None = None
        self._last_refresh = 0.0
        self._stopping = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._thread: threading.Thread | None = None
        self._cycles = 0
        self._idle_cycle = False
        self._cycle_done = threading.Condition()

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> StreamPoller:
        if self._thread is not None:
            return self
        self._refresh_shards(initial=True)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"stream-{self.mapping.function}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        thread.join(timeout=10)

    def pause(self) -> None:
        """Stop invoking after the batch in progress (records wait in the stream, as when Lambda is throttled)."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def wait_until_idle(self, timeout: float = 10.0) -> bool:
        """Block until a whole poll cycle that started after this call delivered nothing."""
        deadline = time.monotonic() + timeout
        with self._cycle_done:
            start = self._cycles
            while True:
                # a cycle that began after the call, and then one that found nothing new
                if self._cycles >= start + 2 and self._idle_cycle:
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cycle_done.wait(remaining)

    # -- loop --------------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            if not self._running.wait(self._poll_interval):
                continue
            try:
                delivered = self.poll_once()
            except Exception:
                log.error("stream poller cycle failed:\n%s", traceback.format_exc())
                delivered = 0
            with self._cycle_done:
                self._cycles += 1
                self._idle_cycle = delivered == 0
                self._cycle_done.notify_all()
            if not delivered:
                self._stopping.wait(self._poll_interval)

    def poll_once(self) -> int:
        """Read every readable shard once and deliver what matches; the number of records read."""
        if time.monotonic() - self._last_refresh > SHARD_REFRESH_SECONDS:
            self._refresh_shards()
        read = 0
        for shard in list(self._shards.values()):
            parent = self._shards.get(shard.parent_id or "")
            if shard.finished or (parent is not None and not parent.finished):
                continue
            read += self._poll_shard(shard)
        return read

    def _poll_shard(self, shard: _Shard) -> int:
        if shard.iterator is None:
            shard.iterator = self._first_iterator(shard)
        records: list[Record] = []
        window_ends = None
        while True:
            answer = self._streams.get_records(ShardIterator=shard.iterator, Limit=GET_RECORDS_LIMIT)
            fresh = [lambda_record(r, self._stream_arn) for r in answer.get("Records", [])]
            records.extend(fresh)
            shard.iterator = answer.get("NextShardIterator")
            if shard.iterator is None:
                shard.finished = True
            if shard.finished or len(records) >= self.mapping.batch_size:
                break
            if not fresh:
                if not records or self.mapping.batching_window_seconds <= 0:
                    break
                window_ends = window_ends or time.monotonic() + self.mapping.batching_window_seconds
                if time.monotonic() >= window_ends or self._stopping.wait(self._poll_interval):
                    break
        self._deliver(shard.shard_id, records)
        return len(records)

    def _deliver(self, shard_id: str, records: list[Record]) -> None:
        wanted = [r for r in records if self._selected(r)]
        self.delivery.stats.filtered_out += len(records) - len(wanted)
        size = self.mapping.batch_size
        for start in range(0, len(wanted), size):
            self.delivery.deliver(shard_id, wanted[start : start + size])

    def _selected(self, record: Record) -> bool:
        return not self.mapping.filters or any(pattern_matches(p, record) for p in self.mapping.filters)

    def _invoke(self, event: dict[str, Any]) -> Any:
        return invoke(self._handler, event, self._context_factory)

    def _first_iterator(self, shard: _Shard) -> str:
        # Shards that exist when the mapping starts honour StartingPosition; later ones (a split or
        # a rollover) are read from their start, or their first records would be lost.
        position = self.mapping.starting_position
        if self._known_at_start is not None and shard.shard_id not in self._known_at_start:
            position = "TRIM_HORIZON"
        answer = self._streams.get_shard_iterator(
            StreamArn=self._stream_arn, ShardId=shard.shard_id, ShardIteratorType=position
        )
        return str(answer["ShardIterator"])

    def _refresh_shards(self, initial: bool = False) -> None:
        self._last_refresh = time.monotonic()
        start: str | None = None
        while True:
            kwargs: dict[str, Any] = {"StreamArn": self._stream_arn}
            if start:
                kwargs["ExclusiveStartShardId"] = start
            description = self._streams.describe_stream(**kwargs)["StreamDescription"]
            for shard in description.get("Shards", []):
                if shard["ShardId"] not in self._shards:
                    self._shards[shard["ShardId"]] = _Shard(shard["ShardId"], shard.get("ParentShardId"))
            start = description.get("LastEvaluatedShardId")
            if not start:
                break
        if initial:
            self._known_at_start = set(self._shards)
