"""Expunge queue → one step of a developer's expunge job each (events_core.lifecycle.expunge_jobs).
A step that runs out of time hands on with a continuation message; a message whose step fails
goes back to the queue (partial batch response) and, after maxReceiveCount, rests in the
expunge fault queue."""

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from events_core.lifecycle import expunge_jobs
from events_core.observability import entry_point, logger


@entry_point()
def lambda_handler(event: dict, context: Any) -> dict:
    failures = []
    for record in event.get("Records") or []:
        try:
            outcome = expunge_jobs.run(json.loads(record["body"]), seconds_left=expunge_jobs.remaining(context))
            logger.info("expunge step", extra={"outcome": outcome})
        except (ClientError, BotoCoreError, ValueError, KeyError):  # back to the queue; at last the fault queue
            logger.exception("expunge step failed")
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
