"""Events queue → fan-out: one delivery message per enabled, matching webhook (partial batch responses)."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from events_core.config import settings
from events_core.delivery import fanout
from events_core.observability import entry_point

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    fanout.handle(record.body, settings())


@entry_point()
def lambda_handler(event: dict, context) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
