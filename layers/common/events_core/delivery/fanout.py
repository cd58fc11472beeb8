"""Fan-out: one platform event → one delivery message per enabled, matching webhook of its developer.

A bad event (no developer, unknown type, data that is not strict JSON…) rests in the events
dead-letter queue with its reason and is never retried. Filter matching has a budget per event
and per (event, webhook) pair: the pairs over budget are not delivered, and the event rests in
the dead-letter queue once, naming every webhook it skipped; the other pairs proceed.

Whatever one tenant's event looks like, its cost is bounded: a large payload is stored once and
the messages name it (events_core.records.payloads), so a message is about 1 KB whatever the
event; messages go out as soon as a SendMessageBatch is full, so the outbox never holds more
than one batch; and each record has a time budget (`RecordDeadline`): one that runs out goes back
to the queue alone, as a batch-item failure, never with the other records of its batch.
"""

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aws_lambda_powertools.metrics import MetricUnit

from events_core import tracing
from events_core.clock import now_ms
from events_core.config import Settings
from events_core.delivery import admission, queues
from events_core.delivery.envelope import PlatformEvent, parse_envelope
from events_core.errors import InvalidEvent
from events_core.listen.fanout import split_markers, to_sessions
from events_core.observability import logger, metrics
from events_core.records.message import DeliveryMessage, delivery_id
from events_core.records.payloads import PayloadStore, stored_by_reference
from events_core.records.subjects import SubjectIndex, subject_hash
from events_core.webhooks import wildcards
from events_core.webhooks.filters import EVENT_BUDGET, PAIR_BUDGET, Budget, FilterBudgetExceeded, compiled
from events_core.webhooks.repository import WebhookRepository

_MAX_CACHED = 10_000


class SubscriptionCache:
    """The enabled webhooks of (developer, event type) — one Query of the sparse index, and one per
    pattern its wildcard markers name (events_core.webhooks.wildcards) — kept for a
    few seconds (FanoutCacheSeconds), so that a burst of one developer's events does not read the
    same index partition for each one. A webhook created, changed or re-enabled takes at most that
    long to be seen; one disabled meanwhile is caught by delivery, which re-reads it."""

    def __init__(self, seconds: float, repository: WebhookRepository | None = None):
        self.seconds = seconds
        self.repository = repository or WebhookRepository()
        self._entries: dict[tuple[str, str], tuple[float, list[tuple[str, str]]]] = {}
        self._lock = threading.Lock()

    def active(self, developer_id: str, event_type: str) -> list[tuple[str, str]]:
        key = (developer_id, event_type)
        now = time.monotonic()
        if self.seconds > 0:
            with self._lock:
                cached = self._entries.get(key)
            if cached and cached[0] > now:
                return cached[1]
        found = self.repository.active_for(developer_id, event_type)
        for pattern in wildcards.patterns_to_query(event_type, found):  # none unless the developer has wildcards
            found = found + self.repository.active_for(developer_id, pattern)
        found = wildcards.without_markers(found)
        if self.seconds > 0:
            with self._lock:
                if len(self._entries) >= _MAX_CACHED:
                    self._entries.clear()
                self._entries[key] = (now + self.seconds, found)
        return found


class RecordOutOfTime(Exception):
    """A record used up its time budget; it goes back to the queue alone."""


class RecordDeadline:
    """One record's time budget, checked between the steps of its fan-out."""

    def __init__(self, seconds: float):
        self.at = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.at:
            raise RecordOutOfTime("the record's time budget ran out")


@dataclass
class Outbox:
    """Delivery messages on their way: sent as soon as they fill one SendMessageBatch (10 messages
    or its byte limit), the rest by `finish`; each tagged with the queue record it came from, so
    a send that fails returns exactly those records. It never holds more than one batch."""

    queue_url: str
    pending: list[queues.Outgoing] = field(default_factory=list)
    pending_bytes: int = 0
    unsent: set[str] = field(default_factory=set)
    sent: int = 0

    def add(self, message: DeliveryMessage, record_id: str) -> None:
        body = message.to_json()
        size = len(body.encode())
        full = len(self.pending) == queues.MAX_BATCH_ENTRIES or self.pending_bytes + size > queues.MAX_BATCH_BYTES
        if self.pending and full:
            self.flush()
        self.pending.append(queues.Outgoing(body, message.developer_id, tag=record_id))
        self.pending_bytes += size

    def flush(self) -> None:
        pending, self.pending, self.pending_bytes = self.pending, [], 0
        try:
            refused = queues.send_all(self.queue_url, pending)
        except Exception:  # noqa: BLE001 - no answer at all: every record in it goes back to the queue
            logger.exception("delivery messages not sent", extra={"count": len(pending)})
            refused = pending
        self.sent += len(pending) - len(refused)
        self.unsent |= {str(outgoing.tag) for outgoing in refused}

    def finish(self) -> set[str]:
        """Send what is left; the ids of the records whose messages did not all go out."""
        self.flush()
        unsent, self.unsent = self.unsent, set()  # never carried into the next invocation
        return unsent


def matching_webhooks(
    event: PlatformEvent,
    candidates: list[tuple[str, str]],
    on_over_budget: Callable[[str], None],
    deadline: RecordDeadline | None = None,
) -> list[str]:
    """The candidates whose filters match, within the event's matching budget."""
    left = Budget(EVENT_BUDGET)
    matched = []
    for webhook_id, filter_json in candidates:
        if deadline is not None:
            deadline.check()
        pair = Budget(max(0, min(PAIR_BUDGET, left.left)))
        before = pair.left
        try:
            if compiled(filter_json).matches(event.data, pair):
                matched.append(webhook_id)
        except FilterBudgetExceeded:
            on_over_budget(webhook_id)
        left.left -= before - max(0, pair.left)
    return matched


def handle(
    body: str,
    record_id: str,
    config: Settings,
    subscriptions: SubscriptionCache,
    outbox: Outbox,
    *,
    deadline: RecordDeadline | None = None,
    payloads: PayloadStore | None = None,
) -> int:
    """Process one events-queue record; returns how many deliveries it queued. RecordOutOfTime
    when its deadline passes first (the deliveries it queued are deduplicated when it comes back)."""
    try:
        event = parse_envelope(body, config.event_source)
    except InvalidEvent as invalid:
        logger.warning("event not delivered", extra={"reason": str(invalid)})
        queues.dead_letter(config.events_dlq_url, body, f"invalid event: {invalid}")
        metrics.add_metric(name="EventRejected", unit=MetricUnit.Count, value=1)
        return 0
    admitted = admission.admit(event, body, config)  # schema enforcement, idempotency keys
    if admitted is None:
        return 0
    event = admitted

    skipped: list[str] = []
    if deadline is not None:
        deadline.check()
    candidates, listening = split_markers(subscriptions.active(event.developer_id, event.event_type))
    webhook_ids = matching_webhooks(event, candidates, skipped.append, deadline)
    if skipped:
        _dead_letter_skipped(config, body, event, skipped)
    # The producer's trace continues here; an event without one starts the trace all its posts share.
    with tracing.span("fanout", event.trace, attributes=_span_attributes(event, len(webhook_ids))) as fanned:
        event = dataclasses.replace(event, trace=fanned)
        payload, queued_at = event.payload, now_ms()
        # An event naming its subjects is stored once, whatever its size, so an erasure removes one item.
        by_reference = bool(webhook_ids) and (stored_by_reference(payload) or bool(event.subjects))
        if event.subjects and (webhook_ids or listening):  # indexed before anything it finds is written
            SubjectIndex().record(
                event.developer_id,
                event.event_id,
                event.timestamp_ms,
                event.subjects,
                webhooks=webhook_ids,
                listening=listening,
                expires_at=config.expires_at(queued_at),
            )
        if by_reference:
            if deadline is not None:
                deadline.check()
            # Counted for retention payloadDays 0 (PayloadStore.release); a listen session's
            # marker holds one more until its deliveries are counted in (listen.fanout).
            (payloads or PayloadStore()).put(
                event.developer_id,
                event.event_id,
                payload,
                expires_at=config.expires_at(queued_at),
                refs=len(webhook_ids) + (1 if listening else 0),
                subject_hashes=[subject_hash(subject) for subject in event.subjects],
            )
        for webhook_id in webhook_ids:
            outbox.add(
                DeliveryMessage(
                    delivery_id=delivery_id(event.event_id, webhook_id, event.timestamp_ms),
                    webhook_id=webhook_id,
                    developer_id=event.developer_id,
                    event_id=event.event_id,
                    event=event.event_type,
                    timestamp=event.timestamp,
                    payload=None if by_reference else payload,
                    payload_ref=event.event_id if by_reference else None,
                    queued_at_ms=queued_at,
                    traceparent=fanned.traceparent,
                    tracestate=fanned.state,
                    sequence=event.sequence,
                ),
                record_id,
            )
        if listening:  # a listen session's marker was in the index: the developer's `eventsapi listen` sessions
            to_sessions(event, body, config, payload_stored=by_reference)
    logger.debug(  # at INFO the delivery's own line is the one per post: logs are billed by the byte
        "event fanned out",
        extra={
            "event_id": event.event_id,
            "event_type": event.event_type,
            "developer_id": event.developer_id,
            "deliveries": len(webhook_ids),
        },
    )
    return len(webhook_ids)


def _span_attributes(event: PlatformEvent, deliveries: int) -> dict[str, str | int]:
    return {
        "events_api.event_id": event.event_id,
        "events_api.event_type": event.event_type,
        "events_api.developer_id": event.developer_id,
        "events_api.deliveries": deliveries,
    }


MAX_LISTED_WEBHOOKS = 4000  # characters of the skipped list an attribute carries


def _dead_letter_skipped(config: Settings, body: str, event: PlatformEvent, skipped: list[str]) -> None:
    """One dead letter for the event, naming every webhook whose filter ran out of budget on it."""
    reason = (
        f"the filters of {len(skipped)} webhook(s) exceeded their matching budget on this event; "
        "it was not delivered to them"
    )
    listed = ",".join(skipped)
    if len(listed) > MAX_LISTED_WEBHOOKS:
        listed = listed[:MAX_LISTED_WEBHOOKS].rpartition(",")[0] + ",…"
    logger.error(
        "event not delivered to some webhooks",
        extra={"event_id": event.event_id, "webhook_ids": skipped, "reason": reason},
    )
    queues.dead_letter(config.events_dlq_url, body, reason, skippedWebhooks=listed, developerId=event.developer_id)
    metrics.add_metric(name="FilterOverBudget", unit=MetricUnit.Count, value=len(skipped))
