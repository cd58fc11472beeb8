"""What a receiver controls about how it is called: its rate limit and its circuit breaker.

Rate limit (GCRA): each post takes the next slot of the webhook's schedule once, with one
conditional write on the webhook item (the environment remembers which of the two GCRA cases
applies; a wrong guess costs a second write). A slot within a second is waited for in-process; a
later one sends the same message again, delayed to come back just before its slot, and its
delivery reads `throttled` meanwhile. Posting at its slot keeps the spacing without another write;
a message the queue brought back more than a quarter interval late takes a fresh slot instead of
crowding the post after it. Waiting is never an attempt, a failure or a dead letter, and a
throttled post costs at most two webhook-item writes.

Circuit breaker: once `FailureThreshold` consecutive posts failed (counted atomically, opened by
exactly one conditional write), the circuit is open: the webhook's deliveries are `held` in the
sparse index instead of following their retry schedules (no attempt spent), and one message,
the probe, comes back every `CircuitProbeSeconds`. The probe that gets through closes the circuit
and the held deliveries are released oldest first (delivery/catch_up.py). A circuit open longer
than `CircuitMaxOpenSeconds` disables the webhook; its held deliveries become dead (recoverable).
"""

import dataclasses
import math
import time

from events_core.clock import iso_ms, now_ms
from events_core.config import Settings
from events_core.delivery import queues
from events_core.records.message import DeliveryMessage, Trigger
from events_core.records.model import DeliveryRecord, DeliveryStatus
from events_core.records.store import DeliveryStore
from events_core.webhooks.model import CircuitState, Webhook
from events_core.webhooks.repository import WebhookRepository

NEAR_SLOT_MS = 1000  # a slot this close is waited for in-process, not through the queue
MAX_SLEEP_MS = 1500  # a message back this long before its slot (early) waits in the queue again
# A throttled message comes back this long before its slot (SQS delays are whole seconds: it is
# back between EARLY_MS and EARLY_MS - 1000 before it), so it is on time and waits in-process.
EARLY_MS = 1200


@dataclasses.dataclass(frozen=True)
class Throttled:
    """The message left the queue to come back at its slot."""

    slot_ms: int


def release_message(record: DeliveryRecord, trigger: Trigger) -> DeliveryMessage:
    """The next attempt of a stored delivery (released, or probed)."""
    return DeliveryMessage(
        delivery_id=record.delivery_id,
        webhook_id=record.webhook_id,
        developer_id=record.developer_id,
        event_id=record.event_id,
        event=record.event,
        timestamp=record.created_at,
        payload=record.payload or None,
        payload_ref=None if record.payload else record.payload_ref,
        attempt=record.attempt + 1,
        trigger=trigger,
        queued_at_ms=now_ms(),
        traceparent=record.traceparent,  # a redelivery or recovery continues the delivery's trace
        tracestate=record.tracestate,
    )


class ReceiverControls:
    def __init__(self, config: Settings, webhooks: WebhookRepository, store: DeliveryStore):
        self.settings = config
        self.webhooks = webhooks
        self.store = store
        # The end of each webhook's queue of slots as this environment last saw it: which of the
        # two GCRA writes to try first (a wrong guess costs one more write, never a wrong slot).
        self._known_tat: dict[tuple[str, str], int] = {}

    # -- the rate limit
    def take_slot(self, message: DeliveryMessage, webhook: Webhook) -> DeliveryMessage | Throttled | None:
        """The message, holding its slot (waited for when near), or Throttled when it was sent
        again to come back at its slot; None when the webhook is gone."""
        interval = webhook.interval_ms
        if interval is None and not message.slot_ms:
            return message
        if interval is not None and not message.slot_ms:
            now = now_ms()
            key = (webhook.developer_id, webhook.webhook_id)
            hint = max(webhook.rate_tat_ms or 0, self._known_tat.get(key, 0))
            slot = self.webhooks.take_slot(webhook.developer_id, webhook.webhook_id, interval, now, hint_ms=hint)
            if slot is None:
                return None
            if len(self._known_tat) > 1000:
                self._known_tat.clear()
            self._known_tat[key] = slot + interval
            message = dataclasses.replace(message, slot_ms=slot)
            if slot - now > NEAR_SLOT_MS:
                self._send_to_slot(message, now)
                return Throttled(slot)
        now = now_ms()
        wait_ms = message.slot_ms - now
        if wait_ms > MAX_SLEEP_MS:  # back too early (a hop): wait again in the queue, same slot
            self._send_to_slot(message, now, mark=False)
            return Throttled(message.slot_ms)
        if wait_ms > 0:
            time.sleep(wait_ms / 1000)
        if interval is not None and -wait_ms > interval // 4:
            # Back later than its own slot by more than a quarter interval (the queue was slow):
            # posting now could crowd the post after it, so it takes a fresh slot (one write). A
            # post within a quarter interval of its slot keeps any window of the period within
            # count + 1 posts.
            return self.take_slot(dataclasses.replace(message, slot_ms=0), webhook)
        # On time: the schedule's spacing holds without a write.
        return message

    def _send_to_slot(self, message: DeliveryMessage, now: int, *, mark: bool = True) -> None:
        """Once per throttled message: its record says `throttled`, and the message comes back
        within the second before its slot (hopping when that is past SQS's longest delay)."""
        if mark:
            self.store.mark_waiting(
                message,
                DeliveryStatus.THROTTLED,
                next_at=iso_ms(message.slot_ms),
                expires_at=self.settings.expires_at(now),
            )
        back_at = message.slot_ms - EARLY_MS
        delay = max(0, math.ceil((back_at - now) / 1000))
        if delay > queues.MAX_DELAY_SECONDS:
            message = dataclasses.replace(message, not_before_ms=back_at)
        queues.send_one(
            self.settings.delivery_queue_url, queues.Outgoing(message.to_json(), message.developer_id, delay=delay)
        )

    # -- the circuit, before a post
    def probe_seconds(self) -> int:
        return max(1, math.ceil(self.settings.circuit_probe_seconds))

    def gate(self, message: DeliveryMessage, webhook: Webhook) -> tuple[str | None, bool]:
        """(why this message does not post now, or None; whether its post is the probe)."""
        if webhook.circuit_state == CircuitState.CLOSED:
            return None, False
        now = now_ms()
        if message.trigger == Trigger.PROBE:
            claim_until = now + int((self.probe_seconds() + self.settings.total_timeout + 15) * 1000)
            if self.webhooks.claim_probe(webhook.developer_id, webhook.webhook_id, now, claim_until):
                return None, True
            # Not due yet, or another probe is out: come back when the next one is due.
            due = max(webhook.next_probe_at_ms or 0, now + 1000)
            self._requeue(message, math.ceil((due - now) / 1000))
            return "probe not due: queued again", False
        expires = self.settings.expires_at(now)
        if not self.store.mark_waiting(message, DeliveryStatus.HELD, next_at=None, expires_at=expires):
            return "duplicate: this post was already settled", False
        return "held: the webhook's circuit is open", False

    def probe_abandoned(self, webhook: Webhook) -> None:
        """A claimed probe that could not post (a duplicate message): the next one may go."""
        self.webhooks.probe_failed(webhook.developer_id, webhook.webhook_id, now_ms())

    def _requeue(self, message: DeliveryMessage, delay: int) -> None:
        hops = delay > queues.MAX_DELAY_SECONDS
        again = dataclasses.replace(message, not_before_ms=now_ms() + delay * 1000 if hops else 0)
        queues.send_one(
            self.settings.delivery_queue_url, queues.Outgoing(again.to_json(), message.developer_id, delay=delay)
        )

    # -- the circuit, after the posts
    def open(self, webhook: Webhook) -> bool:
        """Open the circuit if this caller is the one whose failures reached the threshold."""
        now = now_ms()
        return self.webhooks.open_circuit(
            webhook.developer_id,
            webhook.webhook_id,
            self.settings.failure_threshold,
            now,
            now + self.probe_seconds() * 1000,
        )

    def probe_failed(self, webhook: Webhook) -> bool:
        """Back to open until the next probe; False when the circuit has been open too long."""
        now = now_ms()
        since = webhook.circuit_since_ms or now
        if now - since >= self.settings.circuit_max_open_seconds * 1000:
            return False
        self.webhooks.probe_failed(webhook.developer_id, webhook.webhook_id, now + self.probe_seconds() * 1000)
        return True

    def probe_succeeded(self, webhook: Webhook) -> bool:
        return self.webhooks.close_circuit(webhook.developer_id, webhook.webhook_id)


def duration(seconds: float) -> str:
    """72 hours, 90 minutes, 5 seconds: how long, in the unit that reads best."""
    for unit, size in (("hours", 3600), ("minutes", 60)):
        if seconds >= size * 2:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} seconds"


def slot_out_of_reach(webhook: Webhook, now: int) -> int | None:
    """For a post made at once, from the webhook as read (no write): when its next free slot is
    further than MAX_SLEEP_MS away, that moment; else None (worth trying to take)."""
    if webhook.interval_ms is None or webhook.rate_tat_ms is None:
        return None
    return webhook.rate_tat_ms if webhook.rate_tat_ms - now > MAX_SLEEP_MS else None


def slot_now(webhook: Webhook, repository: WebhookRepository | None = None) -> int | None:
    """A slot for a post made at once (a test send, a challenge): None when it may go now (after
    waiting up to MAX_SLEEP_MS), else the moment its slot comes. A slot out of reach is never
    taken (the caller sends nothing, and the next real event keeps its place)."""
    interval = webhook.interval_ms
    if interval is None:
        return None
    webhooks = repository or WebhookRepository()
    now = now_ms()
    taken = webhooks.take_slot_within(webhook.developer_id, webhook.webhook_id, interval, now, now + MAX_SLEEP_MS)
    if taken is None:
        return None
    slot, ok = taken
    if not ok:
        return slot
    time.sleep(max(0, slot - now) / 1000)
    waited = 0
    while wait_ms := webhooks.pace(webhook.developer_id, webhook.webhook_id, interval, now_ms()):
        if waited + wait_ms > MAX_SLEEP_MS:
            return now_ms() + wait_ms
        time.sleep(wait_ms / 1000)
        waited += wait_ms
    return None
