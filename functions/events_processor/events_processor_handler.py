"""EventsProcessor function: new event items from the table's stream (the event source mapping
filters on INSERTs of `entity = "event"`) are applied to registrations and messages, then published
to EventBridge; a new registration or message (INSERTs of `sk` REG or MSG) gets the events that
named it before it was saved (chatbridge.logic.events.apply_late_events). Each record succeeds or
fails alone: failures are reported per record (ReportBatchItemFailures), retried by Lambda, and
sent to the dead-letter queue when retries run out (`make redrive-events` processes them again).
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from chatbridge.logic.events import process_stored_item
from chatbridge.observability import logger, metrics, traced
from chatbridge.store.stream import stored_item_of

# A batch whose records all failed is still a partial response, not a function error: Lambda resumes
# from the first failed record either way, and bisecting is kept for crashes and timeouts.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def record_handler(record: DynamoDBRecord) -> None:
    item = stored_item_of(record.raw_event["dynamodb"])
    if item is not None:  # a resource deleted since has nothing left to apply to
        process_stored_item(item)


@logger.inject_lambda_context(clear_state=True)
@traced
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
