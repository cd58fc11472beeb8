"""The catch-up after a circuit closes: a webhook's held deliveries released oldest first, one link
at a time. The batch whose probe closed the circuit queues the oldest; the batch that settles a
released message (posted, whatever the answer, or found already done) queues the next, taking the
release over by that delivery's id. So the receiver gets them in that order in fact, whatever order
the queue hands messages out in and however late an invocation runs; each goes at the webhook's
rate limit. And when a circuit stays open too long: its held deliveries become dead.
"""

import dataclasses
import math
from collections.abc import Callable

from events_core.clock import now_ms
from events_core.config import Settings
from events_core.delivery import queues
from events_core.delivery.controls import EARLY_MS, release_message
from events_core.observability import logger
from events_core.records.message import DeliveryMessage, Trigger
from events_core.records.model import DeliveryRecord, DeliveryStatus
from events_core.records.store import DeliveryStore
from events_core.webhooks.model import Webhook
from events_core.webhooks.repository import WebhookRepository

RELEASE_PAGE = 100
# The catch-up after a circuit closes has one link in flight: the time one link takes to queue
# (the claim), and how long past its slot a link may take to settle before any batch for the
# webhook goes on without it (the delivery queue's visibility timeout: a link given back by a
# failed invocation is back within it).
LINK_TIME_MS = 10_000
LINK_LEASE_MS = 180_000


class CatchUp:
    def __init__(self, config: Settings, webhooks: WebhookRepository, store: DeliveryStore):
        self.settings = config
        self.webhooks = webhooks
        self.store = store

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
        try:
            message, delay = self._slotted(webhook, record)
            outgoing = queues.Outgoing(message.to_json(), message.developer_id, delay=delay, tag=record)
            refused = queues.send_all(self.settings.delivery_queue_url, [outgoing])
        except Exception:
            self.store.unqueue(record)  # pending with no message would be lost: held again instead
            raise
        if refused:
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
