"""Delivery queue → signed POSTs, concurrently within a batch, each within a hard deadline. The
answer is SQS's partial batch response: what could not be finished goes back to the queue.

The batch is handled as a whole (one read of its webhooks, one write of its records, one counter
update per webhook), which a per-record handler cannot express; see events_core.delivery.worker.
"""

import time

from events_core.delivery import worker
from events_core.observability import entry_point


@entry_point()
def lambda_handler(event: dict, context) -> dict:
    received_at = time.time()
    return worker.handle_batch(event.get("Records") or [], context.get_remaining_time_in_millis, received_at)
