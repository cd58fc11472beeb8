"""Delivery queue → signed POSTs, concurrently within a batch; failures back off via visibility."""

from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from events_core.delivery import worker
from events_core.observability import entry_point

# Records scheduled for a retry are failures by design; a batch of only those is not an error.
processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


async def record_handler(record: SQSRecord) -> str:
    attempt = int(record.attributes.approximate_receive_count)
    return await worker.handle_async(record.body, record.receipt_handle, attempt)


@entry_point()
def lambda_handler(event: dict, context) -> dict:
    worker.bind_context(context)
    return async_process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
