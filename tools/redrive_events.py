"""Re-process what the events processor's dead-letter queue holds (`make redrive-events`).

Each message of the queue describes a stream batch the processor gave up on (shard, first and last
sequence numbers; Lambda never sends the records themselves). The records are read back from the
table's stream (it keeps them 24 h), their items from the table as they are now, and each is
processed again by the processor's own code, idempotently: an event already processed is skipped.
A message is deleted once all its records went through; the report says what stayed and why.

    TABLE_NAME=... EVENTS_DEAD_LETTER_QUEUE_URL=... EVENT_BUS_NAME=... python -m tools.redrive_events

(the stack's outputs TableName, EventsDeadLetterQueueUrl and EventBusName; AWS credentials from your
profile). `POST /v1/admin/events/redrive` does the same from the API.
"""

from __future__ import annotations

import argparse
import os
import sys

from local.lambda_runtime import ensure_import_paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Redrive the events processor's dead-letter queue.")
    parser.add_argument("--table", default=os.environ.get("TABLE_NAME"), help="the table (default: $TABLE_NAME)")
    parser.add_argument(
        "--queue-url",
        default=os.environ.get("EVENTS_DEAD_LETTER_QUEUE_URL"),
        help="the dead-letter queue (default: $EVENTS_DEAD_LETTER_QUEUE_URL)",
    )
    parser.add_argument(
        "--bus", default=os.environ.get("EVENT_BUS_NAME"), help="the event bus (default: $EVENT_BUS_NAME)"
    )
    parser.add_argument("--max-batches", type=int, default=100, help="dead-letter messages to read at most")
    args = parser.parse_args(argv)
    missing = [
        name
        for name, value in (("--table", args.table), ("--queue-url", args.queue_url), ("--bus", args.bus))
        if not value
    ]
    if missing:
        parser.error(f"give {', '.join(missing)} (or set the environment variables)")
    os.environ.update(
        {"TABLE_NAME": args.table, "EVENTS_DEAD_LETTER_QUEUE_URL": args.queue_url, "EVENT_BUS_NAME": args.bus}
    )
    ensure_import_paths([])
    from chatbridge.dead_letters import get_dead_letters
    from chatbridge.logic.redrive import redrive
    from chatbridge.store.stream import get_table_stream

    report = redrive(get_dead_letters(), get_table_stream(), max_batches=args.max_batches)
    print(report.model_dump_json())
    return 0 if report.kept == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
