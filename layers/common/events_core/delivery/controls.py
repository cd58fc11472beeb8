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
and releases the held deliveries, oldest first, through the rate limit: one at a time, each next
one queued by the batch that settled the one before, so no queue or invocation timing reorders
them. A circuit open longer than `CircuitMaxOpenSeconds` disables the webhook; its held deliveries
become dead (recoverable).
"""

import dataclasses
import math
import time
from collections.abc import Callable

from events_core.clock import iso_ms, now_ms
from events_core.config import Settings
from events_core.delivery import queues
from events_core.observability import logger
from events_core.records.message import DeliveryMessage, Trigger
from events_core.records.model import DeliveryRecord, DeliveryStatus
from events_core.records.store import DeliveryStore
from events_core.webhooks.model import CircuitState, Webhook
from events_core.webhooks.repository import WebhookRepository

NEAR_SLOT_MS = 1000  # a slot this close is waited for in-process, not through the queue
MAX_SLEEP_MS = 1500  # a message back this long before its slot (early) waits in the queue again
RELEASE_PAGE = 100
# The catch-up after a circuit closes has one link in flight: the time one link takes to queue
# (the claim), and how long past its slot a link may take to settle before any batch for the
# webhook goes on without it (the delivery queue's visibility timeout: a link given back by a
# failed invocation is back within it).
LINK_TIME_MS = 10_000
LINK_LEASE_MS = 180_000
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

    def release(self, webhook: Webhook, remaining_ms: Callable[[], int], *, settled: str | None = None) -> int:
        """Queue the oldest held delivery again: one link at a time. The batch that settles it (posted,
        whatever the answer, or found already done) calls this again with its id (`settled`) and the
        next oldest goes, so the receiver gets them oldest first in fact, whatever order the queue
        hands messages out in and however late an invocation runs. 1 when a link was queued."""
        now = now_ms()
        if remaining_ms() < LINK_TIME_MS:
            if settled is not None:  # let go of the settled link's lease: the next batch for this webhook goes on
                self.webhooks.claim_release(webhook.developer_id, webhook.webhook_id, now, now, settled=settled)
            return 0
        claimed = self.webhooks.claim_release(
            webhook.developer_id, webhook.webhook_id, now, now + LINK_TIME_MS, settled=settled
        )
        if not claimed:
            return 0  # another link is in flight, or the circuit opened again
        try:
            return self._release_next(webhook, settled)
        except Exception:
            self.webhooks.release_done(webhook.developer_id, webhook.webhook_id)  # the next batch goes on
            raise

    def _release_next(self, webhook: Webhook, settled: str | None) -> int:
        record = self._oldest_held(webhook, after=settled)
        if record is None and settled is not None:
            record = self._oldest_held(webhook, after=None)  # one held late, older than the last link
        if record is None:
            self.webhooks.held_settled(webhook.developer_id, webhook.webhook_id)
            logger.info("held deliveries all released", extra={"webhook_id": webhook.webhook_id})
            return 0
        message, delay = self._slotted(webhook, record)
        outgoing = queues.Outgoing(message.to_json(), message.developer_id, delay=delay, tag=record)
        if queues.send_all(self.settings.delivery_queue_url, [outgoing]):
            self.store.unqueue(record)  # held again, for the next release
            self.webhooks.release_done(webhook.developer_id, webhook.webhook_id)
            return 0
        until = max(now_ms(), message.slot_ms) + LINK_LEASE_MS
        self.webhooks.link_sent(webhook.developer_id, webhook.webhook_id, record.delivery_id, until)
        return 1

    def _oldest_held(self, webhook: Webhook, *, after: str | None) -> DeliveryRecord | None:
        """The oldest held delivery after `after` that this call moved to pending (its to send)."""
        while True:
            page = self.store.held(webhook.developer_id, webhook.webhook_id, limit=RELEASE_PAGE, after=after)
            for record in page.records:
                if (record.payload or record.payload_ref) and self.store.unhold(record, DeliveryStatus.PENDING):
                    return record
            if page.next_cursor is None:
                return None
            after = page.next_cursor

    def _slotted(self, webhook: Webhook, record: DeliveryRecord) -> tuple[DeliveryMessage, int]:
        """The released message with its rate-limit slot (one write; now when it has no limit) and
        the delay that brings it back just before that slot."""
        now = now_ms()
        slot: int | None = now
        if webhook.interval_ms is not None:
            slot = self.webhooks.take_slot(webhook.developer_id, webhook.webhook_id, webhook.interval_ms, now)
        slot = now if slot is None else slot
        message = dataclasses.replace(release_message(record, Trigger.RELEASE), slot_ms=slot)
        return message, max(0, math.ceil((slot - EARLY_MS - now) / 1000))

    def kill_held(self, webhook: Webhook, reason: str, *, skip: frozenset[str] = frozenset()) -> int:
        """The webhook was disabled: its held deliveries become dead (recover sends them later).
        `skip`: deliveries the caller settles itself (this batch's)."""
        killed = 0
        after: str | None = None
        while True:
            page = self.store.held(webhook.developer_id, webhook.webhook_id, limit=RELEASE_PAGE, after=after)
            dead = [
                record
                for record in page.records
                if record.delivery_id not in skip and self.store.unhold(record, DeliveryStatus.DEAD, reason=reason)
            ]
            letters = [
                queues.Outgoing(
                    release_message(r, Trigger.REDRIVE).to_json(),
                    r.developer_id,
                    attributes={
                        "reason": reason,
                        "attempts": str(r.attempt),
                        "deliveryId": r.delivery_id,
                        "developerId": r.developer_id,
                        "webhookId": r.webhook_id,
                    },
                )
                for r in dead
            ]
            if queues.send_all(self.settings.delivery_dlq_url, letters):
                logger.error("held deliveries not dead-lettered (their records say dead)")
            killed += len(dead)
            if page.next_cursor is None:
                return killed
            after = page.next_cursor


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
