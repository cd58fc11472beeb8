"""Delivery: a batch of delivery-queue messages → signed POSTs, each within a hard deadline.

One batch, three steps:
1. concurrently, per message: check its webhook (read for the whole batch at once), take the
   delivery record's lease for this very attempt (the duplicate guard), sign and POST;
2. per webhook: one update of failCount/lastTriggered (skipped while it succeeds and was updated
   recently), and the disable (410, or past FailureThreshold) with its alert;
3. per message: schedule the next attempt (a delayed message), or rest in the dead-letter queue
   with the reason; then every delivery record of the batch in one batch write.

What the receiver did is remembered before anything that can fail is tried: a post that got a 2xx
is never posted again because a write after it failed. Messages the invocation cannot finish in
time are given back (partial batch response) instead of timing the whole batch out.
"""

import dataclasses
import math
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from events_core import aws, tracing
from events_core.clock import iso_ms, now_ms, parse_iso
from events_core.config import Settings, settings
from events_core.delivery import queues
from events_core.delivery.catch_up import CatchUp
from events_core.delivery.controls import ReceiverControls, Throttled, duration
from events_core.delivery.gate import Gate, OutboundContext, Post, Purpose, StepVerdict, VerdictKind, standard_gate
from events_core.delivery.oauth import Credentials, TokenClient
from events_core.delivery.retry import next_delay
from events_core.delivery.sender import PostResult
from events_core.delivery.signing import delivery_headers, with_asymmetric
from events_core.errors import Unavailable
from events_core.observability import logger, metrics
from events_core.ordering.sequencer import Admitted, Sequencer, Ticket, Waits, settle_ordered
from events_core.records.message import DeliveryMessage, MalformedMessage, Trigger
from events_core.records.model import HELD_BY_CIRCUIT, Attempt, DeliveryRecord, DeliveryStatus
from events_core.records.payloads import RETRY_SPAN_SECONDS, PayloadKey, PayloadStore, StoredPayload
from events_core.records.store import DeliveryStore, LeaseVerdict
from events_core.secrets import SecretBox, secret_box
from events_core.stats.recorder import HealthRecorder
from events_core.webhooks.model import CircuitState, DisabledReason, Webhook
from events_core.webhooks.repository import WebhookRepository

if TYPE_CHECKING:
    from events_core.lifecycle.retention import RetentionCache

# Seconds kept back from the invocation for the writes after the posts.
BOOKKEEPING_SECONDS = 5.0
# A lease outlives its attempt by this much; it must stay below the queue's visibility timeout.
LEASE_MARGIN_SECONDS = 15.0


_PURPOSE = {
    Trigger.FIRST: Purpose.EVENT,
    Trigger.RETRY: Purpose.RETRY,
    Trigger.REDELIVER: Purpose.REDELIVER,
    Trigger.RECOVER: Purpose.RECOVER,
    Trigger.REDRIVE: Purpose.REDRIVE,
    Trigger.PROBE: Purpose.PROBE,  # the circuit's probe
    Trigger.RELEASE: Purpose.RETRY,  # held while the circuit was open: its retry, come at last
}
# The messages of a delivery's own course, which settles once: a redeliver, recover or redrive
# sends a delivery that had already settled (and was counted off its stored payload then).
_OWN_COURSE = frozenset((Trigger.FIRST, Trigger.RETRY, Trigger.PROBE, Trigger.RELEASE))


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY_SCHEDULED = "retry_scheduled"
    DEAD = "dead"
    DROPPED = "dropped"  # nothing to do: a duplicate, a deleted webhook, a hop to wait longer
    DEFERRED = "deferred"  # given back to the queue for a while (busy elsewhere, or no time left)
    FAILED = "failed"  # not ours to judge (AWS trouble): back after the queue's visibility timeout
    THROTTLED = "throttled"  # sent again to come back at its rate-limit slot (not an attempt)
    HELD = "held"  # the webhook's circuit is open: held in the history until a probe gets through

    @property
    def done(self) -> bool:
        """Whether the message leaves the queue."""
        return self not in (Outcome.DEFERRED, Outcome.FAILED)


# A released held delivery whose message ended so (posted, or found done already) lets the next go.
_LINK_SETTLED = frozenset((Outcome.DELIVERED, Outcome.RETRY_SCHEDULED, Outcome.DEAD, Outcome.DROPPED))


@dataclass(frozen=True)
class Incoming:
    message_id: str
    receipt_handle: str
    body: str


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str = ""
    defer_seconds: float = 0.0


@dataclass
class _Attempted:
    incoming: Incoming
    message: DeliveryMessage  # for the attempt actually made (a redrive may have moved it on)
    webhook: Webhook
    record: DeliveryRecord
    result: PostResult
    at_ms: int
    dead_reason: str | None = None  # set when this attempt ends the delivery
    probe: bool = False  # the one post testing an open circuit
    held: bool = False  # failed while the circuit is open: held, no retry of its own
    probes_next: bool = False  # failed while the circuit is open: comes back as its next probe
    span_id: str | None = None  # the attempt's span (the parent id in the post's traceparent)


@dataclass
class _Batch:
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    attempted: list[_Attempted] = field(default_factory=list)
    disabled: dict[tuple[str, str], str] = field(default_factory=dict)  # webhook → why
    healed: list[Webhook] = field(default_factory=list)  # circuits closed: held deliveries to release


class Deliverer:
    def __init__(
        self,
        config: Settings,
        *,
        webhooks: WebhookRepository | None = None,
        store: DeliveryStore | None = None,
        sender: Any = None,
        box: SecretBox | None = None,
        gate: Gate | None = None,
        payloads: PayloadStore | None = None,
        retention: "RetentionCache | None" = None,
    ):
        self.settings = config
        self._retention = retention
        self.webhooks = webhooks or WebhookRepository()
        self.store = store or DeliveryStore()
        self.box = box or secret_box(config)
        self.payloads = payloads or PayloadStore()
        # Only the gate posts: a sender given here (a test's) is handed to it.
        self.gate = gate or standard_gate(
            config, None if sender is None else sender.post, credentials=Credentials(self.box, TokenClient(self.box))
        )
        self.pool = ThreadPoolExecutor(max_workers=config.delivery_concurrency, thread_name_prefix="delivery")
        self.controls = ReceiverControls(config, self.webhooks, self.store)
        self.health = HealthRecorder(config)  # the webhooks' health figures (events_core.stats)
        self.ordering = Sequencer(config, records=self.store)
        self.catch_up = CatchUp(config, self.webhooks, self.store)

    # -- the batch
    def deliver(self, incoming: list[Incoming], remaining_ms: Callable[[], int]) -> dict[str, Verdict]:
        batch = _Batch()
        due: list[tuple[Incoming, DeliveryMessage]] = []
        for item in incoming:
            message = self._parse(item, batch)
            if message is not None:
                due.append((item, message))
        due = self._hop_the_early(due, batch)
        try:
            webhooks = self.webhooks.get_many((m.developer_id, m.webhook_id) for _, m in due)
            stored = self._read_payloads([message for _, message in due])
        except Unavailable as error:  # the posts wait for their messages' next turn
            logger.warning("webhooks not read; the batch's posts return to the queue", extra={"reason": error.message})
            for item, _ in due:
                batch.verdicts[item.message_id] = Verdict(Outcome.FAILED, "webhooks or payloads not readable")
            return batch.verdicts
        self._resend_lost_alerts(webhooks.values())
        tickets: dict[str, Ticket] = {}  # ordered posts: their key's settle (events_core.ordering)
        results = list(
            self.pool.map(lambda pair: self._attempt(pair[0], pair[1], webhooks, stored, remaining_ms, tickets), due)
        )
        for item, result in zip((item for item, _ in due), results, strict=True):
            if isinstance(result, _Attempted):
                batch.attempted.append(result)
            else:
                batch.verdicts[item.message_id] = result
        self._count_per_webhook(batch)
        self._settle(batch)
        self.health.record(batch.attempted, batch.verdicts, due, batch_size=len(incoming))
        settle_ordered(self.ordering, tickets, batch.verdicts, batch.attempted)
        settled_links = {
            (message.developer_id, message.webhook_id): message.delivery_id
            for item, message in due
            if message.trigger == Trigger.RELEASE and batch.verdicts[item.message_id].outcome in _LINK_SETTLED
        }
        self._release_held(batch, webhooks.values(), remaining_ms, settled_links)
        return batch.verdicts

    def _parse(self, item: Incoming, batch: _Batch) -> DeliveryMessage | None:
        try:
            return DeliveryMessage.from_json(item.body)
        except MalformedMessage as error:
            reason = f"malformed delivery message: {error}"
            # Not a tenant's failed post: the service could not read its own message.
            queues.dead_letter(self.settings.delivery_fault_queue_url, item.body, reason)
            logger.error("delivery message dead-lettered", extra={"reason": reason})
            batch.verdicts[item.message_id] = Verdict(Outcome.DEAD, reason)
            return None

    def _hop_the_early(
        self, due: list[tuple[Incoming, DeliveryMessage]], batch: _Batch
    ) -> list[tuple[Incoming, DeliveryMessage]]:
        """A retry waits longer than SQS can delay a message; it comes back early and hops on."""
        now = now_ms()
        early = [(item, message) for item, message in due if message.not_before_ms > now]
        if early:
            hops = [
                queues.Outgoing(
                    message.to_json(),
                    message.developer_id,
                    delay=math.ceil((message.not_before_ms - now) / 1000),
                    tag=item,
                )
                for item, message in early
            ]
            failed = {id(hop.tag) for hop in queues.send_all(self.settings.delivery_queue_url, hops)}
            for item, _ in early:
                batch.verdicts[item.message_id] = (
                    Verdict(Outcome.FAILED, "could not queue the next hop")
                    if id(item) in failed
                    else Verdict(Outcome.DROPPED, "not due yet: queued again")
                )
        return [(item, message) for item, message in due if message.not_before_ms <= now]

    def _read_payloads(self, messages: list[DeliveryMessage]) -> dict[PayloadKey, StoredPayload]:
        """The stored payloads the batch's messages name, each read once; one that the records of
        this batch would outlive is kept longer first (a late redelivery or recovery)."""
        keys = [(m.developer_id, m.payload_ref) for m in messages if m.payload_ref is not None]
        if not keys:
            return {}
        stored = self.payloads.get_many(keys)
        needed = self.settings.expires_at(now_ms()) + RETRY_SPAN_SECONDS // 2
        for (developer_id, event_id), payload in stored.items():
            if payload.expires_at < needed:
                self.payloads.extend(developer_id, event_id, self.settings.expires_at(now_ms()))
        return stored

    # -- step 1, concurrently per message
    def _attempt(
        self,
        item: Incoming,
        message: DeliveryMessage,
        webhooks: dict[tuple[str, str], Webhook],
        stored: dict[PayloadKey, StoredPayload],
        remaining_ms: Callable[[], int],
        tickets: dict[str, Ticket] | None = None,
    ) -> "Verdict | _Attempted":
        log = {"delivery_id": message.delivery_id, "webhook_id": message.webhook_id, "attempt": message.attempt}
        try:
            webhook = webhooks.get((message.developer_id, message.webhook_id))
            if webhook is None:
                return Verdict(Outcome.DROPPED, "webhook deleted")
            if not webhook.enabled:
                return self._not_sent(message, webhook)
            ordered_headers: dict[str, str] = {}
            if webhook.ordering is not None:  # one in flight per key, in the producer's order
                admitted = self._admit_ordered(message, webhook, stored)
                if isinstance(admitted, Verdict):
                    return admitted
                message, ordered_headers = admitted.message, admitted.headers
                if admitted.ticket is not None and tickets is not None:
                    tickets[item.message_id] = admitted.ticket
            waits, probe = self.controls.gate(message, webhook)
            if waits is not None:
                return Verdict(Outcome.HELD if waits.startswith("held") else Outcome.DROPPED, waits)
            slotted = self.controls.take_slot(message, webhook)
            if slotted is None:
                return Verdict(Outcome.DROPPED, "webhook deleted")
            if isinstance(slotted, Throttled):
                return Verdict(Outcome.THROTTLED, f"throttled until {iso_ms(slotted.slot_ms)}")
            message = slotted
            payload = message.payload
            if payload is None:
                found = stored.get((message.developer_id, message.payload_ref or ""))
                if found is None:
                    return self._settle_unsent(message, "the event's payload is no longer stored")
                payload = found.text
            budget = remaining_ms() / 1000 - BOOKKEEPING_SECONDS
            if budget < 1:
                return Verdict(Outcome.DEFERRED, "no time left in this invocation", 0)
            deadline = min(self.settings.total_timeout, budget)
            now = now_ms()
            lease = self.store.lease(
                message,
                until_ms=now + int((deadline + LEASE_MARGIN_SECONDS) * 1000),
                now_ms=now,
                expires_at=self.settings.expires_at(now),
            )
            if probe and lease.verdict != LeaseVerdict.TAKEN:
                self.controls.probe_abandoned(webhook)
            if lease.verdict == LeaseVerdict.STALE:
                return Verdict(Outcome.DROPPED, "duplicate: this attempt was already made")
            if lease.verdict == LeaseVerdict.BUSY:
                return Verdict(Outcome.DEFERRED, "being posted by another invocation", lease.busy_seconds + 1)
            if lease.record is None:
                raise RuntimeError("a taken lease carries its record")
            if lease.attempt != message.attempt:
                message = message.next(lease.attempt, message.trigger, queued_at_ms=message.queued_at_ms)
            message, parent = _traced(message, lease.record)
            started = now_ms()
            if message.queued_at_ms:
                tracing.record(
                    "delivery.queue_wait",
                    parent,
                    start_ms=message.queued_at_ms,
                    end_ms=started,
                    attributes=_span_attributes(message),
                )
            with tracing.span("delivery.attempt", parent, attributes=_span_attributes(message)) as attempt_trace:
                body = payload.encode()
                headers = delivery_headers(
                    event=message.event,
                    timestamp=message.timestamp,
                    delivery_id=message.delivery_id,
                    body=body,
                    secrets=self.box.signing_secrets(webhook, now),
                    trace=attempt_trace,
                )
                headers.update(ordered_headers)
                headers = with_asymmetric(headers, webhook, self.settings, message.delivery_id, body)
                purpose = _PURPOSE[message.trigger]
                context = OutboundContext(webhook, message.developer_id, purpose, message.delivery_id, now)
                passage = self.gate.send(context, Post(body, headers, deadline))
                verdict = passage.verdict
                tracing.annotate(_outcome_attributes(passage.result, verdict))
            if verdict is not None and verdict.kind == VerdictKind.DEFER:
                return Verdict(Outcome.DEFERRED, f"{verdict.step}: {verdict.reason}", verdict.wait_seconds(now_ms()))
            if verdict is not None and verdict.kind == VerdictKind.FAIL:
                return Verdict(Outcome.FAILED, f"{verdict.step}: {verdict.reason}")
            # A refusal is this attempt's failure, counted and recorded like a receiver's.
            result = passage.result or PostResult(error=verdict.reason if verdict else "not posted")
            return _Attempted(
                item, message, webhook, lease.record, result, now_ms(), probe=probe, span_id=attempt_trace.span_id
            )
        except Exception:  # noqa: BLE001 - AWS trouble or a bug: the message returns, nothing is lost
            logger.exception("delivery attempt failed unexpectedly", extra=log)
            return Verdict(Outcome.FAILED, "unexpected error")

    def _admit_ordered(
        self, message: DeliveryMessage, webhook: Webhook, stored: dict[PayloadKey, StoredPayload]
    ) -> "Verdict | Admitted":
        if webhook.ordering is None:
            return Admitted(message, {}, None)
        payload = message.payload
        if payload is None:
            found = stored.get((message.developer_id, message.payload_ref or ""))
            if found is None:
                return Admitted(message, {}, None)  # the post below settles it (payload gone)
            payload = found.text
        admitted = self.ordering.admit(message, webhook.ordering, payload)
        if isinstance(admitted, Waits):
            return Verdict(Outcome.HELD if admitted.held else Outcome.DROPPED, admitted.reason)
        posted = admitted.message
        if posted.payload is None and (posted.developer_id, posted.payload_ref or "") not in stored:
            stored.update(self._read_payloads([posted]))  # an earlier event of the key, posted first
        return admitted

    def _not_sent(self, message: DeliveryMessage, webhook: Webhook) -> Verdict:
        """A post queued for a disabled webhook: dead, kept for `recover` — unless the webhook was
        disabled before the post was even queued (a fan-out reading a cached subscription list)."""
        if webhook.disabled_at_ms is not None and message.queued_at_ms >= webhook.disabled_at_ms:
            return Verdict(Outcome.DROPPED, "the webhook was disabled before this post was queued")
        return self._settle_unsent(message, "webhook disabled")

    def _settle_unsent(self, message: DeliveryMessage, reason: str) -> Verdict:
        """A post that will not be attempted: dead, with its reason, in its record and the dead-letter queue."""
        now = now_ms()
        if not self.store.mark_dead(message, reason, at=iso_ms(now), expires_at=self.settings.expires_at(now)):
            return Verdict(Outcome.DROPPED, "duplicate: this post was already settled")
        self._dead_letter(message, reason)
        if self._drops_payloads(message.developer_id):
            self._release_payloads([message])
        return Verdict(Outcome.DEAD, reason)

    # -- step 2, per webhook
    def _count_per_webhook(self, batch: _Batch) -> None:
        by_webhook: dict[tuple[str, str], list[_Attempted]] = defaultdict(list)
        for attempted in batch.attempted:
            by_webhook[(attempted.webhook.developer_id, attempted.webhook.webhook_id)].append(attempted)
        for key, attempts in by_webhook.items():
            try:
                why = self._count(attempts, batch)
            except Exception:  # noqa: BLE001 - bookkeeping after the posts must not undo them
                logger.exception("webhook counters not updated", extra={"webhook_id": key[1]})
                metrics.add_metric(name="BookkeepingFailed", unit=MetricUnit.Count, value=1)
                continue
            if why:
                batch.disabled[key] = why

    def _count(self, attempts: list[_Attempted], batch: _Batch) -> str | None:
        """Update the webhook's counters for this batch's attempts and its circuit (see
        delivery/controls.py); why it was disabled, if it was."""
        webhook = attempts[0].webhook
        developer_id, webhook_id = webhook.developer_id, webhook.webhook_id
        at = iso_ms(max(a.at_ms for a in attempts))
        # A failure on our side (a busy resolver) is retried but never counts against the receiver.
        failures = [a for a in attempts if not a.result.ok and not a.result.infrastructure]
        if any(a.result.ok for a in attempts) and (failures or self._stale(webhook)):
            self.webhooks.record_success(developer_id, webhook_id, at)
        probe = next((a for a in attempts if a.probe), None)
        if probe is not None and probe.result.ok and self.controls.probe_succeeded(webhook):
            logger.info("circuit closed: the probe got through", extra={"webhook_id": webhook_id})
            batch.healed.append(webhook)
        if not failures:
            return None
        count, circuit = self.webhooks.record_failures(developer_id, webhook_id, len(failures), at)
        if any(a.result.status == 410 for a in failures):
            reason, why = DisabledReason.GONE, "the receiver answered 410 Gone"
        elif probe is not None and not probe.result.ok and not self.controls.probe_failed(webhook):
            reason = DisabledReason.CIRCUIT
            why = f"its circuit stayed open (failing) for {duration(self.settings.circuit_max_open_seconds)}"
        else:
            self._hold(webhook, failures, probe, count, circuit)
            return None
        at_ms = now_ms()
        if self.webhooks.disable(developer_id, webhook_id, reason, at_ms, iso_ms(at_ms)):
            logger.warning("webhook disabled", extra={"webhook_id": webhook_id, "why": why})
            metrics.add_metric(name="WebhookDisabled", unit=MetricUnit.Count, value=1)
            try:
                self._alert(developer_id, webhook_id, webhook.url, why)
            except Exception:  # noqa: BLE001 - alertPending stays set: the next post for this webhook sends it
                logger.exception("webhook-disabled alert not sent", extra={"webhook_id": webhook_id})
            self.catch_up.kill_held(
                webhook, f"webhook disabled: {why}", skip=frozenset(a.message.delivery_id for a in attempts)
            )
        return why

    def _hold(
        self, webhook: Webhook, failures: list[_Attempted], probe: _Attempted | None, count: int, circuit: CircuitState
    ) -> None:
        """Failures while the circuit is open are held; the one that opens it, or a failed probe,
        comes back as the next probe. Nothing is held unless the circuit is known to be open."""
        if probe is not None and not probe.result.ok:
            opened = True
        elif circuit != CircuitState.CLOSED:
            opened = False
        elif count >= self.settings.failure_threshold and self.controls.open(webhook):
            opened = True
            logger.warning("circuit opened", extra={"webhook_id": webhook.webhook_id, "failures": count})
            metrics.add_metric(name="CircuitOpened", unit=MetricUnit.Count, value=1)
            try:
                self._circuit_alert(webhook, count)
            except Exception:  # noqa: BLE001 - the circuit works without it; the failure is logged
                logger.exception("circuit-opened alert not sent", extra={"webhook_id": webhook.webhook_id})
        else:
            return  # closed: the failures follow their retry schedules
        carrier = probe if probe is not None and not probe.result.ok else failures[0] if opened else None
        for attempted in failures:
            attempted.probes_next = attempted is carrier
            attempted.held = attempted is not carrier

    def _circuit_alert(self, webhook: Webhook, count: int) -> None:
        host = _host(webhook.url)
        longest = duration(self.settings.circuit_max_open_seconds)
        queues.publish_event(
            self.settings.event_bus_name,
            self.settings.event_source,
            "alert.triggered",
            webhook.developer_id,
            {
                "alertType": "webhook.circuit_opened",
                "source": "events-api",
                "message": (
                    f"Webhook {webhook.webhook_id} ({host}) failed {count} times in a row: its deliveries are held"
                    f" and its receiver is probed every {self.controls.probe_seconds()} s; they are sent when it"
                    f" answers again. Still failing after {longest}, the webhook is disabled."
                ),
                "severity": "warning",
                "webhookId": webhook.webhook_id,
                "host": host,
            },
        )

    def _stale(self, webhook: Webhook) -> bool:
        """Whether a success must be written: failures to reset, or lastTriggered getting old."""
        if webhook.fail_count or webhook.last_triggered is None:
            return True
        return now_ms() - parse_iso(webhook.last_triggered) >= self.settings.stats_interval * 1000

    def _alert(self, developer_id: str, webhook_id: str, url: str, why: str) -> None:
        """The developer's `alert.triggered` event. It names the webhook and its host only: a URL
        may carry a token, and the event may reach third-party receivers."""
        host = _host(url)
        queues.publish_event(
            self.settings.event_bus_name,
            self.settings.event_source,
            "alert.triggered",
            developer_id,
            {
                "alertType": "webhook.disabled",
                "source": "events-api",
                "message": f"Webhook {webhook_id} ({host}) was disabled: {why}",
                "severity": "warning",
                "webhookId": webhook_id,
                "host": host,
            },
        )
        self.webhooks.clear_alert(developer_id, webhook_id)

    def _resend_lost_alerts(self, webhooks: Iterable[Webhook]) -> None:
        for webhook in webhooks:
            if webhook.alert_pending and not webhook.enabled:
                try:
                    why = f"disabled ({webhook.disabled_reason})"
                    self._alert(webhook.developer_id, webhook.webhook_id, webhook.url, why)
                except Exception:  # noqa: BLE001 - it stays pending and is tried again with the next post
                    logger.exception("webhook-disabled alert not sent", extra={"webhook_id": webhook.webhook_id})

    # -- step 3, per message
    def _settle(self, batch: _Batch) -> None:
        retries: list[queues.Outgoing] = []
        dead: list[_Attempted] = []
        for attempted in batch.attempted:
            self._judge(attempted, batch)
            if attempted.result.ok:
                continue
            if attempted.dead_reason is not None:
                dead.append(attempted)
            elif not attempted.held:
                retries.append(self._retry(attempted))
        failed = {id(outgoing.tag) for outgoing in queues.send_all(self.settings.delivery_queue_url, retries)}
        failed |= {id(outgoing.tag) for outgoing in self._dead_letter_all(dead)}
        settled = []
        for attempted in batch.attempted:
            if id(attempted) in failed:
                # The next step could not be queued: the message comes back and the attempt is made again.
                batch.verdicts[attempted.incoming.message_id] = Verdict(Outcome.FAILED, "next step not queued")
                continue
            settled.append(attempted)
            batch.verdicts[attempted.incoming.message_id] = self._verdict(attempted)
        ending = [a for a in settled if a.result.ok or a.dead_reason is not None]
        dropping = {d for d in {a.message.developer_id for a in ending} if self._drops_payloads(d)}
        self._write_records(settled, dropping)
        self._release_payloads([a.message for a in ending if a.message.developer_id in dropping])
        self._measure(batch)

    # -- retention `payloadDays: 0`: a payload goes when the last delivery naming it settles
    def _drops_payloads(self, developer_id: str) -> bool:
        """Whether the developer keeps no payload once its delivery settles (settings, cached)."""
        try:
            if self._retention is None:
                # Loaded by the first settling, not by every cold start (import time, docs/cost.md).
                from events_core.lifecycle.retention import retention_cache

                self._retention = retention_cache(self.settings)
            return self._retention.of(developer_id).payload_days == 0
        except Exception:  # noqa: BLE001 - then the payload stays: reads hide it and the sweep removes it
            logger.exception("settings not read; settled payloads are left to the retention sweep")
            return False

    def _release_payloads(self, messages: list[DeliveryMessage]) -> None:
        """The settled deliveries, each of its own course once, are counted off the payloads they
        name (PayloadStore.release); the last one deletes it."""
        counts: dict[PayloadKey, int] = defaultdict(int)
        for message in messages:
            if message.payload_ref and message.trigger in _OWN_COURSE:
                counts[(message.developer_id, message.payload_ref)] += 1
        for (developer_id, event_id), count in counts.items():
            try:
                self.payloads.release(developer_id, event_id, count)
            except Exception:  # noqa: BLE001 - the payload stays: reads hide it and the sweep removes it
                logger.exception("settled payload not released", extra={"event_id": event_id})

    def _judge(self, attempted: _Attempted, batch: _Batch) -> None:
        result, message = attempted.result, attempted.message
        if result.ok:
            return
        why = batch.disabled.get((message.developer_id, message.webhook_id))
        if why:
            attempted.dead_reason = f"{result.describe()}; webhook disabled: {why}"
            return
        if attempted.held:
            attempted.record.next_attempt_at = None
            return
        if attempted.probes_next:
            attempted.record.next_attempt_at = iso_ms(attempted.at_ms + self.controls.probe_seconds() * 1000)
            return
        delay = next_delay(message.attempt, self.settings, result.retry_after)
        if delay is None:
            attempted.dead_reason = f"{result.describe()} after {message.attempt} attempts"
        else:
            attempted.record.next_attempt_at = iso_ms(attempted.at_ms + delay * 1000)

    def _retry(self, attempted: _Attempted) -> queues.Outgoing:
        due = parse_iso(attempted.record.next_attempt_at or iso_ms(attempted.at_ms))
        now = now_ms()
        delay = max(0, math.ceil((due - now) / 1000))
        following = attempted.message.next(
            attempted.message.attempt + 1,
            Trigger.PROBE if attempted.probes_next else Trigger.RETRY,
            queued_at_ms=now,
            not_before_ms=due if delay > queues.MAX_DELAY_SECONDS else 0,
        )
        return queues.Outgoing(following.to_json(), following.developer_id, delay=delay, tag=attempted)

    def _dead_letter_all(self, dead: list[_Attempted]) -> list[queues.Outgoing]:
        for attempted in dead:
            logger.warning(
                "delivery dead-lettered",
                extra={"delivery_id": attempted.message.delivery_id, "reason": attempted.dead_reason},
            )
        letters = [_letter(a.message, a.dead_reason or "", attempts=a.message.attempt, tag=a) for a in dead]
        return queues.send_all(self.settings.delivery_dlq_url, letters)

    def _dead_letter(self, message: DeliveryMessage, reason: str) -> None:
        letter = _letter(message, reason, attempts=message.attempt - 1)  # this attempt was never made
        if queues.send_all(self.settings.delivery_dlq_url, [letter]):
            raise queues.QueueSendFailed("the dead-letter queue refused the message")

    def _verdict(self, attempted: _Attempted) -> Verdict:
        if attempted.result.ok:
            return Verdict(Outcome.DELIVERED, attempted.result.describe())
        if attempted.dead_reason is not None:
            return Verdict(Outcome.DEAD, attempted.dead_reason)
        if attempted.held or attempted.probes_next:
            return Verdict(Outcome.HELD, f"{attempted.result.describe()}; held: the webhook's circuit is open")
        return Verdict(Outcome.RETRY_SCHEDULED, attempted.result.describe())

    def _write_records(self, settled: list[_Attempted], dropping: Collection[str] = ()) -> None:
        records = [self._finished(attempted, attempted.message.developer_id in dropping) for attempted in settled]
        try:
            self.store.save(records)
        except Exception:  # noqa: BLE001 - the posts happened and the queue knows what follows; only history is lost
            logger.exception("delivery records not written", extra={"count": len(records)})
            metrics.add_metric(name="BookkeepingFailed", unit=MetricUnit.Count, value=1)

    def _finished(self, attempted: _Attempted, drop_payload: bool = False) -> DeliveryRecord:
        record, result, message = attempted.record, attempted.result, attempted.message
        at = iso_ms(attempted.at_ms)
        record.attempt = message.attempt
        record.attempts.append(
            Attempt(
                attempt=message.attempt,
                attempted_at=at,
                status=result.status,
                latency_ms=result.latency_ms,
                error=None if result.ok else result.describe(),
                response_excerpt=result.excerpt,
                trigger=message.trigger.value,
                span_id=attempted.span_id,
            )
        )
        if message.traceparent and not record.traceparent:
            record.traceparent, record.tracestate = message.traceparent, message.tracestate
        record.last_attempt_at = at
        record.last_status = result.status
        record.last_error = None if result.ok else (attempted.dead_reason or result.describe())
        if message.payload is not None:
            record.payload = record.payload or message.payload
        elif not record.payload:
            record.payload_ref = message.payload_ref
        record.lease_until_ms = None
        record.expires_at = self.settings.expires_at(attempted.at_ms)
        if result.ok:
            record.status, record.next_attempt_at = DeliveryStatus.SUCCEEDED, None
        elif attempted.dead_reason is not None:
            record.status, record.next_attempt_at = DeliveryStatus.DEAD, None
        elif attempted.held or attempted.probes_next:
            record.status, record.held_reason = DeliveryStatus.HELD, HELD_BY_CIRCUIT
        else:
            record.status = DeliveryStatus.RETRYING
        if drop_payload and record.status in (DeliveryStatus.SUCCEEDED, DeliveryStatus.DEAD):
            record.payload = None  # payloadDays 0: an inline copy goes with the settling write, at no cost
        return record

    def _release_held(
        self,
        batch: _Batch,
        webhooks: Iterable[Webhook],
        remaining_ms: Callable[[], int],
        settled_links: dict[tuple[str, str], str],
    ) -> None:
        """Held deliveries of healed webhooks go out again, one link at a time: the first when the
        circuit closes, each next when this batch settled the one before (`settled_links`), or
        when a batch finds the release pending and nobody at it."""
        healed = {(w.developer_id, w.webhook_id): w for w in batch.healed}
        for webhook in webhooks:
            if webhook.held_pending and webhook.enabled and webhook.circuit_state == CircuitState.CLOSED:
                healed.setdefault((webhook.developer_id, webhook.webhook_id), webhook)
        for key, webhook in healed.items():
            try:
                self.catch_up.release(webhook, remaining_ms, settled=settled_links.get(key))
            except Exception:  # noqa: BLE001 - heldPending stays set: the next batch for this webhook goes on
                logger.exception("held deliveries not released", extra={"webhook_id": webhook.webhook_id})

    def _measure(self, batch: _Batch) -> None:
        for attempted in batch.attempted:
            metrics.add_metric(name="PostLatency", unit=MetricUnit.Milliseconds, value=attempted.result.latency_ms)
            logger.info(
                "delivery",
                extra={
                    "delivery_id": attempted.message.delivery_id,
                    "webhook_id": attempted.message.webhook_id,
                    "attempt": attempted.message.attempt,
                    "status": attempted.result.status,
                    "error": attempted.result.error,
                    "latency_ms": attempted.result.latency_ms,
                    "outcome": batch.verdicts[attempted.incoming.message_id].outcome.value,
                },
            )
        counts: dict[Outcome, int] = defaultdict(int)
        for verdict in batch.verdicts.values():
            counts[verdict.outcome] += 1
        failed_attempts = sum(1 for a in batch.attempted if not a.result.ok)
        if counts[Outcome.DELIVERED]:
            metrics.add_metric(name="Delivered", unit=MetricUnit.Count, value=counts[Outcome.DELIVERED])
        if failed_attempts:
            metrics.add_metric(name="DeliveryFailed", unit=MetricUnit.Count, value=failed_attempts)
        if counts[Outcome.DEAD]:
            metrics.add_metric(name="DeadLettered", unit=MetricUnit.Count, value=counts[Outcome.DEAD])
        attempted_ids = {a.incoming.message_id for a in batch.attempted}
        for message_id, verdict in batch.verdicts.items():
            if message_id not in attempted_ids:
                logger.info(
                    "delivery",
                    extra={"message_id": message_id, "outcome": verdict.outcome.value, "reason": verdict.reason},
                )


def _traced(message: DeliveryMessage, record: DeliveryRecord) -> tuple[DeliveryMessage, tracing.TraceContext]:
    """The trace this attempt continues: its message's (the event's fan-out), else its record's;
    a message sent before tracing starts one here, which the attempts after it carry on."""
    found = message.trace or tracing.parse(record.traceparent, record.tracestate)
    if found is None:
        found = tracing.new_trace()
    if message.traceparent != found.traceparent:
        message = dataclasses.replace(message, traceparent=found.traceparent, tracestate=found.state)
    return message, found


def _span_attributes(message: DeliveryMessage) -> dict[str, str | int]:
    return {
        "events_api.delivery_id": message.delivery_id,
        "events_api.webhook_id": message.webhook_id,
        "events_api.developer_id": message.developer_id,
        "events_api.event_id": message.event_id,
        "events_api.event_type": message.event,
        "events_api.attempt": message.attempt,
        "events_api.trigger": message.trigger.value,
    }


def _outcome_attributes(result: PostResult | None, verdict: StepVerdict | None) -> dict[str, str | int | bool]:
    if result is not None:
        found: dict[str, str | int | bool] = {"events_api.ok": result.ok, "events_api.latency_ms": result.latency_ms}
        if result.status is not None:
            found["http.response.status_code"] = result.status
        return found
    return {"events_api.ok": False, "events_api.gate": f"{verdict.step}: {verdict.kind}" if verdict else "not posted"}


def _host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0].rpartition("@")[2]


def _letter(message: DeliveryMessage, reason: str, *, attempts: int, tag: Any = None) -> queues.Outgoing:
    """A post's rest in the dead-letter queue, with its reason and what identifies it. Moved back
    by an operator, it is a redrive: one more attempt, deduplicated by delivery id."""
    return queues.Outgoing(
        message.next(message.attempt, Trigger.REDRIVE, queued_at_ms=message.queued_at_ms).to_json(),
        message.developer_id,
        tag=tag,
        attributes={
            "reason": reason,
            "attempts": str(attempts),
            "deliveryId": message.delivery_id,
            "developerId": message.developer_id,
            "webhookId": message.webhook_id,
        },
    )


@aws.per_environment
def deliverer(config: Settings) -> Deliverer:
    return Deliverer(config)


def handle_batch(records: list[dict], remaining_ms: Callable[[], int], received_at: float) -> dict:
    """The delivery function's whole job: the partial batch response for SQS."""
    config = settings()
    incoming = [Incoming(r["messageId"], r["receiptHandle"], r["body"]) for r in records]
    verdicts = deliverer(config).deliver(incoming, remaining_ms)
    failures = []
    for item in incoming:
        verdict = verdicts.get(item.message_id, Verdict(Outcome.FAILED, "no verdict"))
        if verdict.outcome == Outcome.DEFERRED:
            try:
                queues.hide(config.delivery_queue_url, item.receipt_handle, verdict.defer_seconds, received_at)
            except Exception:  # noqa: BLE001 - then it simply comes back after the queue's visibility timeout
                logger.exception("visibility not changed", extra={"message_id": item.message_id})
        if not verdict.outcome.done:
            failures.append({"itemIdentifier": item.message_id})
    return {"batchItemFailures": failures}
