"""What the fan-out checks before it queues anything for an event: its data against its type's
schema (SchemaEnforcement: off | warn | reject), then its idempotency key (delivery/idempotency).
An event that may not go on rests in the events dead-letter queue with its reason."""

import dataclasses
import json
from functools import cache

from aws_lambda_powertools.metrics import MetricUnit

from events_core.catalogue.validation import SchemaError, summary, validate
from events_core.clock import iso_ms, now_ms
from events_core.config import Settings
from events_core.delivery import queues
from events_core.delivery.envelope import PlatformEvent
from events_core.delivery.idempotency import ClaimStore, data_hash
from events_core.observability import logger, metrics


@cache
def claims() -> ClaimStore:
    return ClaimStore()


def admit(event: PlatformEvent, body: str, config: Settings) -> PlatformEvent | None:
    """The event to fan out (with the first event's id and time when it repeats an idempotency
    key), or None when it was dead-lettered instead."""
    if config.schema_enforcement != "off":
        errors = validate(event.event_type, event.data)
        if errors and not _schema_allows(event, body, errors, config):
            return None
    if event.idempotency_key is None:
        return event
    return _idempotent(event, body, config)


def _schema_allows(event: PlatformEvent, body: str, errors: list[SchemaError], config: Settings) -> bool:
    reason = f"data does not match the {event.event_type} schema: {summary(errors)}"
    facts = {"event_id": event.event_id, "event_type": event.event_type, "developer_id": event.developer_id}
    if config.schema_enforcement == "warn":
        logger.warning("event data does not match its schema; delivered", extra={**facts, "reason": reason})
        metrics.add_metric(name="EventSchemaInvalid", unit=MetricUnit.Count, value=1)
        return True
    logger.warning("event data does not match its schema; not delivered", extra={**facts, "reason": reason})
    queues.dead_letter(
        config.events_dlq_url,
        body,
        f"schema: {reason}",
        schemaErrors=json.dumps([error.to_dict() for error in errors], ensure_ascii=False),
        eventType=event.event_type,
        developerId=event.developer_id,
    )
    metrics.add_metric(name="EventSchemaRejected", unit=MetricUnit.Count, value=1)
    return False


def _idempotent(event: PlatformEvent, body: str, config: Settings) -> PlatformEvent | None:
    claim = claims().claim(event, now_ms=now_ms())
    if claim.first or claim.event_id == event.event_id:  # the first, or itself fanned out again
        return event
    if claim.data_hash != data_hash(event.data):
        reason = f"idempotency key reused with different data; the first event with this key is {claim.event_id}"
        logger.warning(
            "event not delivered",
            extra={"event_id": event.event_id, "developer_id": event.developer_id, "reason": reason},
        )
        queues.dead_letter(config.events_dlq_url, body, reason, developerId=event.developer_id, eventId=claim.event_id)
        metrics.add_metric(name="IdempotencyConflict", unit=MetricUnit.Count, value=1)
        return None
    metrics.add_metric(name="EventDuplicate", unit=MetricUnit.Count, value=1)
    return dataclasses.replace(
        event, event_id=claim.event_id, timestamp_ms=claim.timestamp_ms, timestamp=iso_ms(claim.timestamp_ms)
    )
