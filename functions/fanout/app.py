"""Events queue → fan-out: one delivery message per enabled, matching webhook. The answer is SQS's
partial batch response: a record that failed, ran out of its time budget, or was not reached
before the invocation's time ran short goes back to the queue alone (the delivery records' lease
drops the posts that already went out when it is fanned out again); the others are done.

Records are taken smallest first: a tenant's huge events cannot make the batch's ordinary
events wait behind them, and if time runs short it is the big ones that go back.

The loop over records is ours rather than Powertools' BatchProcessor, whose import would cost every
cold start about 30 ms (a fifth of boto3's own) for a try/except per record.
"""

from events_core.config import settings
from events_core.delivery import fanout
from events_core.observability import entry_point, logger

RECORD_SECONDS = 8.0  # one record's time budget: far above what a bounded record needs (bench)
RESERVE_SECONDS = 3.0  # kept back for the last SendMessageBatch
MIN_RECORD_SECONDS = 1.0  # less time than this left: the record is not started

subscriptions = fanout.SubscriptionCache(settings().fanout_cache_seconds)


@entry_point()
def lambda_handler(event: dict, context) -> dict:
    config = settings()
    outbox = fanout.Outbox(config.delivery_queue_url)
    failed: list[str] = []
    for record in sorted(event.get("Records") or [], key=lambda r: len(r["body"])):
        left = context.get_remaining_time_in_millis() / 1000 - RESERVE_SECONDS
        if left < MIN_RECORD_SECONDS:
            failed.append(record["messageId"])  # not started: back to the queue untouched
            continue
        deadline = fanout.RecordDeadline(min(RECORD_SECONDS, left))
        try:
            fanout.handle(record["body"], record["messageId"], config, subscriptions, outbox, deadline=deadline)
        except fanout.RecordOutOfTime:
            logger.warning(
                "event ran out of its time budget; it will be retried", extra={"message_id": record["messageId"]}
            )
            failed.append(record["messageId"])
        except Exception:  # noqa: BLE001 - this record goes back to the queue; the others go on
            logger.exception("event not fanned out; it will be retried", extra={"message_id": record["messageId"]})
            failed.append(record["messageId"])
    unsent = outbox.finish()
    failed += sorted(unsent - set(failed))
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
