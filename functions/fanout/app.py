"""Events queue → fan-out: one delivery message per enabled, matching webhook (partial batch
responses). The messages of the whole batch are sent together at the end; a record whose messages
could not all be sent is reported failed, and its event is fanned out again (the delivery
records' lease drops the posts that already went out)."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from events_core.config import settings
from events_core.delivery import fanout
from events_core.observability import entry_point, logger

processor = BatchProcessor(event_type=EventType.SQS)
subscriptions = fanout.SubscriptionCache(settings().fanout_cache_seconds)
outbox = fanout.Outbox()


def record_handler(record: SQSRecord) -> None:
    try:
        fanout.handle(record.body, record.message_id, settings(), subscriptions, outbox)
    except Exception:
        logger.exception("event not fanned out; it will be retried", extra={"message_id": record.message_id})
        raise


@entry_point()
def lambda_handler(event: dict, context) -> dict:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    unsent = outbox.flush(settings().delivery_queue_url)
    failures = list(response.get("batchItemFailures", []))
    known = {failure["itemIdentifier"] for failure in failures}
    failures.extend({"itemIdentifier": record_id} for record_id in sorted(unsent - known))
    return {"batchItemFailures": failures}
