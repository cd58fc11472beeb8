"""Fan-out: one platform event → one delivery message per enabled, matching webhook of its developer.

A bad event (no developer, unknown type, data that is not strict JSON…) rests in the events
dead-letter queue with its reason and is never retried. Filter matching has a budget per event
and per (event, webhook) pair: a pair over budget is not delivered and rests in the dead-letter
queue with the event; the other pairs proceed. The messages of a whole batch go out together.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aws_lambda_powertools.metrics import MetricUnit

from events_core.clock import now_ms
from events_core.config import Settings
from events_core.delivery import admission, queues
from events_core.delivery.envelope import PlatformEvent, parse_envelope
from events_core.errors import InvalidEvent
from events_core.observability import logger, metrics
from events_core.records.message import DeliveryMessage, delivery_id
from events_core.webhooks.filters import EVENT_BUDGET, PAIR_BUDGET, Budget, FilterBudgetExceeded, compiled
from events_core.webhooks.repository import WebhookRepository

_MAX_CACHED = 10_000


class SubscriptionCache:
    """The enabled webhooks of (developer, event type) — one Query of the sparse index — kept for a
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
        if self.seconds > 0:
            with self._lock:
                if len(self._entries) >= _MAX_CACHED:
                    self._entries.clear()
                self._entries[key] = (now + self.seconds, found)
        return found


@dataclass
class Outbox:
    """The delivery messages of one invocation, sent together at the end; each tagged with the
    queue record it came from, so a send that fails returns exactly those records."""

    messages: list[queues.Outgoing] = field(default_factory=list)

    def add(self, message: DeliveryMessage, record_id: str) -> None:
        self.messages.append(queues.Outgoing(message.to_json(), message.developer_id, tag=record_id))

    def flush(self, queue_url: str) -> set[str]:
        """Send everything; the ids of the records whose messages did not all go out."""
        messages, self.messages = self.messages, []  # never carried into the next invocation
        return {str(outgoing.tag) for outgoing in queues.send_all(queue_url, messages)}


def matching_webhooks(
    event: PlatformEvent, candidates: list[tuple[str, str]], on_over_budget: Callable[[str], None]
) -> list[str]:
    """The candidates whose filters match, within the event's matching budget."""
    left = Budget(EVENT_BUDGET)
    matched = []
    for webhook_id, filter_json in candidates:
        pair = Budget(max(0, min(PAIR_BUDGET, left.left)))
        before = pair.left
        try:
            if compiled(filter_json).matches(event.data, pair):
                matched.append(webhook_id)
        except FilterBudgetExceeded:
            on_over_budget(webhook_id)
        left.left -= before - max(0, pair.left)
    return matched


def handle(body: str, record_id: str, config: Settings, subscriptions: SubscriptionCache, outbox: Outbox) -> int:
    """Process one events-queue record; returns how many deliveries it queued."""
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

    def over_budget(webhook_id: str) -> None:
        reason = f"the filter of webhook {webhook_id} exceeded its matching budget; not delivered to it"
        logger.error(
            "pair not delivered", extra={"event_id": event.event_id, "webhook_id": webhook_id, "reason": reason}
        )
        queues.dead_letter(config.events_dlq_url, body, reason, webhookId=webhook_id, developerId=event.developer_id)
        metrics.add_metric(name="FilterOverBudget", unit=MetricUnit.Count, value=1)

    candidates = subscriptions.active(event.developer_id, event.event_type)
    webhook_ids = matching_webhooks(event, candidates, over_budget)
    payload, queued_at = event.payload, now_ms()
    for webhook_id in webhook_ids:
        outbox.add(
            DeliveryMessage(
                delivery_id=delivery_id(event.event_id, webhook_id, event.timestamp_ms),
                webhook_id=webhook_id,
                developer_id=event.developer_id,
                event_id=event.event_id,
                event=event.event_type,
                timestamp=event.timestamp,
                payload=payload,
                queued_at_ms=queued_at,
            ),
            record_id,
        )
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
