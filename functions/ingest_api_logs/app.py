"""CloudWatch Logs subscription (or a Kinesis destination) → API-call log entries, written in
batches. Lines without a developer and unreadable lines are counted (metrics IngestSkipped*) and
skipped; only a write DynamoDB keeps refusing fails the invocation, which CloudWatch Logs retries
(entry ids derive from the log events' ids, so a retry rewrites the same items)."""

from aws_lambda_powertools.metrics import MetricUnit

from events_core.access_logs import IngestCounts, calls
from events_core.api_logs import ApiLogStore
from events_core.observability import entry_point, logger, metrics

store = ApiLogStore()


@entry_point()
def lambda_handler(event: dict, context) -> dict:
    counts = IngestCounts()
    written = store.write(calls(event, counts))
    metrics.add_metric(name="ApiCallsLogged", unit=MetricUnit.Count, value=written)
    if counts.no_developer:
        metrics.add_metric(name="IngestSkippedNoDeveloper", unit=MetricUnit.Count, value=counts.no_developer)
    if counts.malformed:
        metrics.add_metric(name="IngestSkippedMalformed", unit=MetricUnit.Count, value=counts.malformed)
        logger.warning("access-log lines skipped", extra={"reasons": counts.reasons})
    return {"written": written, "noDeveloper": counts.no_developer, "malformed": counts.malformed}
