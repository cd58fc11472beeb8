"""Events queue → fan-out: one delivery message per enabled, matching webhook. The answer is SQS's
partial batch response. The messages of the whole batch are sent together at the end; a record
whose messages could not all be sent is reported failed, and its event is fanned out again (the
delivery records' lease drops the posts that already went out).

The loop over records is ours rather than Powertools' BatchProcessor, whose import would cost every
cold start about 30 ms (a fifth of boto3's own) for a try/except per record.
"""

from events_core.config import settings
from events_core.delivery import fanout
from events_core.observability import entry_point, logger

subscriptions = fanout.SubscriptionCache(settings().fanout_cache_seconds)
outbox = fanout.Outbox()


@entry_point()
def lambda_handler(event: dict, context) -> dict:
    config = settings()
    failed: list[str] = []
    for record in event.get("Records") or []:
        try:
            fanout.handle(record["body"], record["messageId"], config, subscriptions, outbox)
        except Exception:  # noqa: BLE001 - this record goes back to the queue; the others go on
            logger.exception("event not fanned out; it will be retried", extra={"message_id": record["messageId"]})
            failed.append(record["messageId"])
    unsent = outbox.flush(config.delivery_queue_url)
    failed += sorted(unsent - set(failed))
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
