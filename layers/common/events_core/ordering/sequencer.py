"""The delivery worker's ordering step: one in flight per (webhook, key), in the producer's order.

Asked for each message of an ordered webhook before the gate (`admit`), and told how each post it
let through ended (`settled`). A message of an ordered webhook whose event has the key's field is
first *registered* in its key's queue (events_core.ordering.state) and waits `windowMs` (it is
sent again, delayed: a wait is never a receive counted toward the queue's maxReceiveCount). From
then on every message of the key is a *kick*: it claims the key (one conditional write on the
key's revision) and posts the key's smallest waiting delivery — its own, or an earlier one that
arrived later. While the key has a head in flight or retrying, kicks wait (sent again, delayed
until the head's claim lapses); the head's settle hands the key to the next waiting delivery
(its message is sent at once). So no retry, rate slot, circuit hold or crash reorders a key: a
post is only ever the key's smallest waiting delivery, taken by one claim.

An event at or behind a position its key already started (a late arrival past its window, a
redelivery, a recovery) is delivered at once, outside the queue, marked out of order.
"""

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from events_core.clock import iso_ms, now_ms, parse_iso
from events_core.config import Settings
from events_core.delivery import queues
from events_core.observability import logger, metrics
from events_core.ordering.config import OnFailure, Ordering
from events_core.ordering.keys import headers, ordering_key, position
from events_core.ordering.state import KeyState, OrderingStore, Waiting, digest
from events_core.records.message import DeliveryMessage, Trigger
from events_core.records.model import HELD_BY_ORDERING, DeliveryStatus
from events_core.records.store import DeliveryStore

# A claim outlives its post's deadline by this much, then another kick may take the key: short, because a
# lapsed claim can only re-take the same head (it leaves the key's queue at settle, and its record's lease
# stops a second post while the first is in flight), so a crashed invocation delays its key only this long.
CLAIM_MARGIN_SECONDS = 5.0
HOLD_MARGIN_MS = 60_000
# A head the circuit holds keeps its key this long at a time: its release (the circuit closed) takes
# the key at once; a webhook disabled meanwhile frees it within this (the next kick finds the head dead).
CIRCUIT_HOLD_MS = 300_000  # a retrying head keeps the key this long past its next attempt's due time
HELD_SHOWN = 25  # waiting deliveries marked `held` when their head starts failing
_REENTRY = (Trigger.REDELIVER, Trigger.RECOVER, Trigger.REDRIVE)


@dataclass(frozen=True)
class Ticket:
    """A post the key let through: what its settle updates."""

    developer_id: str
    webhook_id: str
    key: str
    key_digest: str
    head: str  # the delivery id posted
    head_pos: str
    ordering: Ordering


@dataclass(frozen=True)
class Admitted:
    message: DeliveryMessage  # the one to post (the key's smallest waiting one)
    headers: dict[str, str]
    ticket: Ticket | None  # None: posted outside the key's queue (out of order)


@dataclass(frozen=True)
class Waits:
    reason: str
    held: bool = False  # recorded `held` (heldReason ordering) rather than simply dropped


class Sequencer:
    def __init__(self, config: Settings, store: OrderingStore | None = None, records: DeliveryStore | None = None):
        self.settings = config
        self.store = store or OrderingStore()
        self.records = records or DeliveryStore()

    # -- before the gate
    def admit(self, message: DeliveryMessage, ordering: Ordering, payload: str) -> Admitted | Waits:
        key = ordering_key(ordering, payload)
        if key is None:
            return Admitted(message, {}, None)  # no such field: unordered
        developer_id, webhook_id = message.developer_id, message.webhook_id
        kd, pos, now = digest(key), position(message), now_ms()
        expires = self.settings.expires_at(now)
        state = self.store.state(developer_id, webhook_id, kd)
        is_head = state.head == message.delivery_id
        behind = not is_head and state.last is not None and pos <= state.last
        if behind and message.ordered_at_ms is not None and message.trigger not in _REENTRY:
            return self._orphan(message, ordering, key, kd, state, now, expires)
        if behind:
            self.store.count_out_of_order(developer_id, webhook_id, kd, expires)
            metrics.add_metric(name="OrderingOutOfOrder", unit=MetricUnit.Count, value=1)
            return Admitted(message, headers(message, key, out_of_order=True), None)
        if state.blocked:
            if is_head and message.trigger not in _REENTRY:
                return Waits("ordering: the key's head is dead and blocks it")  # a spent kick of the head
            if not is_head:
                if message.ordered_at_ms is None:
                    self._register(dataclasses.replace(message, ordered_at_ms=now), kd, pos, expires)
                self._mark_held(message, expires)  # its kick ends here: the skip hands the key on
                return Waits(f"held: ordering (its key is blocked by {state.head})", held=True)
            # The blocked head redelivered: it is the key's head again, in order.
            if not self.store.unblock(
                developer_id, webhook_id, kd, message.delivery_id, until_ms=self._claim_until(now)
            ):
                return Waits("ordering: the key changed; sent again")
            state = dataclasses.replace(state, blocked=False, rev=state.rev + 1, until_ms=self._claim_until(now))
        if message.ordered_at_ms is None and not is_head:
            message = dataclasses.replace(message, ordered_at_ms=now)
            self._register(message, kd, pos, expires)
            if state.head is not None and state.failing:
                self._mark_held(message, expires)
            if ordering.window_ms > 0:
                self._kick(message, ordering.window_ms / 1000)
                return Waits("ordering: waiting its window for earlier events of its key")
        elif message.ordered_at_ms is not None and now < message.ordered_at_ms + ordering.window_ms:
            self._kick(message, (message.ordered_at_ms + ordering.window_ms - now) / 1000)
            return Waits("ordering: waiting its window for earlier events of its key")
        if state.head is not None and not is_head and state.until_ms > now:
            self._kick(message, min(queues.MAX_DELAY_SECONDS, (state.until_ms - now) / 1000 + 1))
            held = state.failing
            if held:
                self._mark_held(message, expires)
            return Waits(f"{'held: ' if held else ''}ordering: waiting behind {state.head}", held=held)
        if is_head and message.trigger in _REENTRY and message.ordered_at_ms is None:
            message = dataclasses.replace(message, ordered_at_ms=now)
        found = self.store.waiting(developer_id, webhook_id, kd)
        if not found:
            return Waits("ordering: nothing waiting in its key (already posted)")
        head = found[0]
        due = (head.message.ordered_at_ms or 0) + ordering.window_ms
        if head.delivery_id != message.delivery_id and due > now:  # the key's next still waits its window
            self._kick(message, (due - now) / 1000)
            return Waits("ordering: the key's next delivery is waiting its window")
        return self._claim(message, ordering, key, kd, state, head, now, expires)

    def _orphan(
        self, message: DeliveryMessage, ordering: Ordering, key: str, kd: str, state: KeyState, now: int, expires: int
    ) -> "Admitted | Waits":
        """A kick at or behind the key's last start: spent, unless a delivery was registered behind
        it (a registration racing a claim). Such an orphan goes next, marked out of order."""
        if state.head is not None and state.until_ms > now:
            return Waits("ordering: already posted in its key's order")
        found = self.store.waiting(message.developer_id, message.webhook_id, kd)
        if not found or state.last is None or found[0].position >= state.last:
            return Waits("ordering: already posted in its key's order")
        return self._claim(message, ordering, key, kd, state, found[0], now, expires)

    def _claim(
        self,
        message: DeliveryMessage,
        ordering: Ordering,
        key: str,
        kd: str,
        state: KeyState,
        head: Waiting,
        now: int,
        expires: int,
    ) -> "Admitted | Waits":
        developer_id, webhook_id = message.developer_id, message.webhook_id
        if not self.store.claim(
            developer_id,
            webhook_id,
            kd,
            key=key,
            seen=state,
            head=head,
            until_ms=self._claim_until(now),
            expires_at=expires,
        ):
            self._kick(message, 1)
            return Waits("ordering: its key was claimed meanwhile; sent again")
        posted = message
        if head.delivery_id != message.delivery_id:
            posted = head.message
            self._kick(message, self._claim_seconds())  # this one's turn comes after the head's
        out_of_order = state.last is not None and head.position < state.last
        ticket = Ticket(developer_id, webhook_id, key, kd, head.delivery_id, head.position, ordering)
        return Admitted(posted, headers(posted, key, out_of_order=out_of_order), ticket)

    # -- after the settle
    def settled(
        self,
        ticket: Ticket,
        status: str,
        *,
        next_attempt_at: str | None = None,
        defer_seconds: float = 0.0,
        reason: str = "",
    ) -> None:
        """What the post's outcome (the worker's Outcome value) means for its key."""
        try:
            if status == "dropped" and reason.startswith("duplicate"):
                status = self._settled_elsewhere(ticket)
            self._settled(ticket, status, next_attempt_at, defer_seconds)
        except Exception:  # noqa: BLE001 - the claim lapses and the next kick carries on
            logger.exception("ordering state not updated", extra={"webhook_id": ticket.webhook_id})
            metrics.add_metric(name="BookkeepingFailed", unit=MetricUnit.Count, value=1)

    def _settled(self, ticket: Ticket, status: str, next_attempt_at: str | None, defer_seconds: float) -> None:
        args = (ticket.developer_id, ticket.webhook_id, ticket.key_digest)
        now = now_ms()
        if status == "delivered" or (status == "dead" and ticket.ordering.on_failure == OnFailure.SKIP):
            if self.store.finish(*args, ticket.head, ticket.head_pos):
                self.hand_over(*args, ticket.ordering)
        elif status == "dead":
            self.store.block(
                *args,
                key=ticket.key,
                head=ticket.head,
                at=iso_ms(now),
                reason="out of attempts",
                expires_at=self.settings.expires_at(now),
            )
            metrics.add_metric(name="OrderingKeyBlocked", unit=MetricUnit.Count, value=1)
            self._hold_behind(ticket)
        elif status == "retry_scheduled":
            due = parse_iso(next_attempt_at) if next_attempt_at else now
            if self.store.extend(*args, ticket.head, due + HOLD_MARGIN_MS, failing=True):
                self._hold_behind(ticket)
        elif status == "held":  # the circuit holds the head; its release or a later kick carries it on
            self.store.extend(*args, ticket.head, now + CIRCUIT_HOLD_MS, failing=True)
        elif status == "throttled":
            self.store.extend(*args, ticket.head, now + (queues.MAX_DELAY_SECONDS + 60) * 1000, failing=False)
        elif status == "deferred":
            self.store.extend(*args, ticket.head, self._claim_until(now) + int(defer_seconds * 1000), failing=False)

    def _settled_elsewhere(self, ticket: Ticket) -> str:
        """The head's message was stale (its attempt already made): its record says how it ended. A
        head that ended (delivered; dead, killed with its disabled webhook) must not keep its key."""
        record = self.records.get(ticket.developer_id, ticket.webhook_id, ticket.head)
        if record is not None and record.status == DeliveryStatus.SUCCEEDED:
            return "delivered"
        if record is not None and record.status == DeliveryStatus.DEAD:
            return "dead"
        return "dropped"  # still on its way (its own retry carries it on)

    def hand_over(self, developer_id: str, webhook_id: str, key_digest: str, ordering: Ordering) -> None:
        """The key is free: its next waiting delivery goes at once (or at its window's end)."""
        found = self.store.waiting(developer_id, webhook_id, key_digest)
        if not found:
            return
        following: Waiting = found[0]
        arrived = following.message.ordered_at_ms or 0
        self._kick(following.message, max(0.0, (arrived + ordering.window_ms - now_ms()) / 1000))

    def _hold_behind(self, ticket: Ticket) -> None:
        """The deliveries waiting behind a failing or blocked head say `held` (heldReason ordering);
        the first HELD_SHOWN of them at once, the others when their kicks come back."""
        expires = self.settings.expires_at(now_ms())
        for waiting in self.store.waiting(ticket.developer_id, ticket.webhook_id, ticket.key_digest, limit=HELD_SHOWN):
            if waiting.delivery_id != ticket.head:
                self._mark_held(waiting.message, expires)

    # -- helpers
    def _claim_seconds(self) -> float:
        return self.settings.total_timeout + CLAIM_MARGIN_SECONDS

    def _claim_until(self, now: int) -> int:
        return now + int(self._claim_seconds() * 1000)

    def _register(self, message: DeliveryMessage, kd: str, pos: str, expires: int) -> None:
        self.store.register(message, kd, pos, expires)

    def _kick(self, message: DeliveryMessage, seconds: float) -> None:
        """Send the message again (a kick of its key), to come back in about `seconds`."""
        kick = dataclasses.replace(message, queued_at_ms=now_ms())
        outgoing = queues.Outgoing(kick.to_json(), kick.developer_id, delay=max(0, math.ceil(seconds)))
        if queues.send_all(self.settings.delivery_queue_url, [outgoing]):
            raise queues.QueueSendFailed("the delivery queue refused an ordering kick")

    def _mark_held(self, message: DeliveryMessage, expires: int) -> None:
        """Its record says `held` (heldReason ordering) while it waits behind its key's failing head."""
        try:
            self.records.mark_waiting(
                message, DeliveryStatus.HELD, next_at=None, expires_at=expires, held_reason=HELD_BY_ORDERING
            )
        except Exception:  # noqa: BLE001 - only the history's status; the order is kept by the key's queue
            logger.exception("held record not written", extra={"delivery_id": message.delivery_id})


def settle_ordered(
    sequencer: Sequencer, tickets: dict[str, Ticket], verdicts: Mapping[str, Any], attempted: Any
) -> None:
    """The worker's hook after its settle: each ordered post's outcome, told to its key."""
    if not tickets:
        return
    due = {a.incoming.message_id: a.record.next_attempt_at for a in attempted}
    for message_id, ticket in tickets.items():
        verdict = verdicts.get(message_id)
        if verdict is None:
            continue
        sequencer.settled(
            ticket,
            str(verdict.outcome),
            next_attempt_at=due.get(message_id),
            defer_seconds=verdict.defer_seconds,
            reason=verdict.reason,
        )


def key_state(store: OrderingStore, developer_id: str, webhook_id: str, key: str) -> KeyState:
    return store.state(developer_id, webhook_id, digest(key))
