"""The soak's hostile-tenant phase: ordinary developers' events, alone and then beside one hostile
developer (huge events to 100 webhooks, most with filters that exhaust the matching budget, some
receivers failing, OAuth2 token URLs that give no token, custom headers, and a flood of recover
calls), on the in-process stack, pumped by hand so the
delay is counted work, not wall time (the machine's noise would decide that).

Delay of an ordinary event = the fan-out invocations run from its publication until the one that
fanned it out, plus the delivery invocations run from then until the one that posted it. The
events queue is shared first-in first-out (EventBridge cannot give it per-developer groups,
docs/scale.md); delivery batches are formed as SQS fair queues do, in turn across message groups
(developers), since moto does not emulate fair queues.

Printed: the ordinary developers' events lost (expected 0), any of theirs in a dead-letter queue
(expected 0), and their p99 delay with the hostile developer against without (at most 2x).
"""

import contextlib
import io
import json
import math
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

import boto3

from events_core.api_keys import ApiKeyStore
from events_core.config import Settings
from events_core.delivery.queues import event_entry
from events_core.webhooks import service
from eventsapi.harness.receiver import Receiver
from eventsapi.local.inprocess import InProcessStack, in_process_stack
from eventsapi.local.wiring import REGION

PARAMETERS = {
    "AllowHttpUrls": "true",
    "AllowedPrivateNetworks": "127.0.0.0/8",
    "RetryDelayScale": "0",
    "RetrySchedule": "0,0",
    "FailureThreshold": "1000000",
    "DeliveryTotalTimeout": "2",
    "FanoutCacheSeconds": "0",
    "DeveloperRateLimit": "1000",
    "DeveloperBurstLimit": "1000",
    "LogLevel": "ERROR",
}
ORDINARY = ("ordinary_a", "ordinary_b", "ordinary_c")
HOSTILE = "hostile"
COSTLY = {"a": [{"numeric": [">", 5, "<", 3]}] * 99 + [2]}
SOURCE = Settings().event_source
MAX_TICKS = 200


@dataclass
class Run:
    delays: list[int]  # per ordinary event delivered
    lost: int  # ordinary events never delivered
    dead_lettered: int  # ordinary developers' messages in a dead-letter queue
    hostile_posts: int
    recover_calls: int
    token_fetches: int = 0  # the hostile developer's OAuth2 token URL, asked (failed fetches remembered)

    @property
    def p99(self) -> int:
        ordered = sorted(self.delays)
        return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)] if ordered else 0


@dataclass
class HostileReport:
    alone: Run
    beside: Run
    events_per_ordinary: int
    hostile_events: int

    @property
    def ratio(self) -> float:
        return self.beside.p99 / max(1, self.alone.p99)

    @property
    def ok(self) -> bool:
        return self.alone.lost == 0 and self.beside.lost == 0 and self.beside.dead_lettered == 0 and self.ratio <= 2.0

    def render(self) -> str:
        rows = [
            ("ordinary developers / events each", f"{len(ORDINARY)} / {self.events_per_ordinary}"),
            (
                "hostile developer",
                f"{self.hostile_events} events of about 140 KB to 100 webhooks (90 with costly filters, "
                f"5 failing receivers, 15 with an OAuth2 token URL that gives no token, 10 with custom "
                f"headers), {self.beside.recover_calls} recover calls; {self.beside.hostile_posts} posts, "
                f"{self.beside.token_fetches} token fetches",
            ),
            ("ordinary: lost without / with the hostile developer", f"{self.alone.lost} / {self.beside.lost}"),
            ("ordinary: in a dead-letter queue with the hostile developer", self.beside.dead_lettered),
            (
                "ordinary: p99 delay baseline (alone) / beside the hostile developer (invocations, counted)",
                f"{self.alone.p99} / {self.beside.p99}  = {self.ratio:.2f}x (target ≤ 2x)",
            ),
        ]
        width = max(len(name) for name, _ in rows)
        lines = ["hostile-tenant phase"] + [f"{name.ljust(width)}  {value}" for name, value in rows]
        lines.append(
            "ordinary tenants unharmed (lost 0, none dead-lettered, delay ≤ 2x): " + ("HOLDS" if self.ok else "BROKEN")
        )
        return "\n".join(lines)


class HostileTenantPhase:
    def __init__(self, *, events_per_ordinary: int = 10, hostile_events: int = 10):
        self.events_per_ordinary = events_per_ordinary
        self.hostile_events = hostile_events

    def run(self) -> HostileReport:
        alone = self._run(hostile=False)
        beside = self._run(hostile=True)
        return HostileReport(alone, beside, self.events_per_ordinary, self.hostile_events)

    def _run(self, *, hostile: bool) -> Run:
        with Receiver() as receiver, contextlib.redirect_stdout(io.StringIO()), in_process_stack(PARAMETERS) as stack:
            return _Pump(stack, receiver, self, hostile).run()


class _Pump:
    def __init__(self, stack: InProcessStack, receiver: Receiver, phase: HostileTenantPhase, hostile: bool):
        self.stack = stack
        self.receiver = receiver
        self.phase = phase
        self.hostile = hostile
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.fanouts = 0
        self.deliveries = 0
        self.recover_calls = 0
        self.hostile_key = ""
        self.failing: list[str] = []

    def run(self) -> Run:
        for developer in ORDINARY:
            service.register(developer, {"event": "tool.executed", "url": self.receiver.url(f"/{developer}")})
        if self.hostile:
            self._hostile_webhooks()
        markers = self._publish()
        delivered_at: dict[str, int] = {}
        fanned_at: dict[str, tuple[int, int]] = {}
        for _ in range(MAX_TICKS):
            handled = self._fan_out()
            handled += self._deliver(delivered_at, fanned_at)
            waiting = len(delivered_at) < len(markers)
            if self.hostile and waiting:
                self._recover_flood()  # for as long as the ordinary developers have work in flight
            if not waiting or (not handled and self._idle()):
                break
        delays = [delivered_at[m] for m in markers if m in delivered_at]
        return Run(
            delays=delays,
            lost=sum(1 for m in markers if m not in delivered_at),
            dead_lettered=self._ordinary_dead_letters(),
            hostile_posts=sum(len(self.receiver.at(f"/hostile{n}")) for n in range(10)),
            token_fetches=len(self.receiver.at("/hostile-token")),
            recover_calls=self.recover_calls,
        )

    # -- setup
    def _hostile_webhooks(self) -> None:
        self.hostile_key = ApiKeyStore().create(HOSTILE, ("read", "write")).key
        for n in range(5, 10):  # half the plain webhooks fail: their deliveries die and are recovered
            self.receiver.behave(f"/hostile{n}", status=500)
        # Its OAuth2 token URL answers what is no token (every fetch fails, remembered 30 s by the
        # gate), and every plain webhook carries custom headers: both go through the gate's passage.
        token_url = self.receiver.url("/hostile-token")
        for n in range(100):
            body: dict[str, Any] = {"event": "tool.executed", "url": self.receiver.url(f"/hostile{n % 10}")}
            if n < 10:
                body["headers"] = {"X-Hostile-Key": f"k{n}" * 100, "X-Hostile-Tenant": "hostile"}
            if n < 5 or 10 <= n < 20:
                body["auth"] = {"type": "oauth2", "tokenUrl": token_url, "clientId": "hostile", "clientSecret": "s"}
            hook = service.register(HOSTILE, {**body, "filter": COSTLY} if n >= 10 else body)
            if n < 10:  # the OAuth2 ones fail too (no token); the rest of these five answer 500
                self.failing.append(hook.webhook_id)

    def _publish(self) -> list[str]:
        """Ordinary events in turn across developers, the hostile developer's interleaved."""
        planned: list[tuple[str, dict]] = []
        hostile_left = self.phase.hostile_events if self.hostile else 0
        for n in range(self.phase.events_per_ordinary):
            for developer in ORDINARY:
                planned.append((developer, {"marker": f"{developer}-{n}"}))
            if hostile_left:
                planned.append((HOSTILE, {"a": [0] * 20_000, "blob": "\\" * 50_000, "marker": f"h{n}"}))
                hostile_left -= 1
        events = boto3.client("events", region_name=REGION)
        bus = self.stack.physical("PlatformEventBus")
        for developer, data in planned:  # one at a time: the queue keeps their order
            answer = events.put_events(Entries=[event_entry(bus, SOURCE, "tool.executed", developer, data)])
            if answer["FailedEntryCount"]:
                raise RuntimeError(f"put-events failed: {answer}")
        return [data["marker"] for developer, data in planned if developer != HOSTILE]

    # -- the pump
    def _receive_all(self, logical_id: str) -> list[dict]:
        url = self.stack.physical(logical_id)
        found: list[dict] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300, MessageSystemAttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return found
            found.extend(batch)

    def _invoke(self, logical_id: str, queue: str, messages: list[dict]) -> int:
        url = self.stack.physical(queue)
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "awsRegion": REGION,
            }
            for m in messages
        ]
        answer = self.stack.functions[logical_id].invoke({"Records": records})
        failed = {item["itemIdentifier"] for item in answer.get("batchItemFailures") or []}
        for m in messages:
            if m["MessageId"] in failed:
                self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
            else:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return len(messages)

    def _fan_out(self) -> int:
        """One fan-out invocation on the next 10 events, first in first out."""
        url = self.stack.physical("EventsQueue")
        batch = self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300, MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return 0
        self.fanouts += 1
        return self._invoke("FanoutFunction", "EventsQueue", batch)

    def _deliver(self, delivered_at: dict[str, int], fanned_at: dict[str, tuple[int, int]]) -> int:
        """Every delivery message now visible, in batches of 10 formed in turn across developers
        (SQS fair queues). An ordinary event's delay: the fan-out invocations up to the one that
        queued its message, plus the delivery invocations from then until the one that posted it."""
        pending = self._receive_all("DeliveryQueue")
        groups: dict[str, deque] = defaultdict(deque)
        for message in pending:
            fields = json.loads(message["Body"])
            groups[fields["developer_id"]].append(message)
            if fields["developer_id"] in ORDINARY:
                marker = json.loads(fields["payload"])["data"]["marker"]
                fanned_at.setdefault(marker, (self.fanouts, self.deliveries))
        handled = 0
        while any(groups.values()):
            batch: list[dict] = []
            while len(batch) < 10 and any(groups.values()):
                for developer in list(groups):
                    if groups[developer] and len(batch) < 10:
                        batch.append(groups[developer].popleft())
            self.deliveries += 1
            before = {d: len(self.receiver.at(f"/{d}")) for d in ORDINARY}
            handled += self._invoke("DeliverFunction", "DeliveryQueue", batch)
            for developer in ORDINARY:
                for post in self.receiver.at(f"/{developer}")[before[developer] :]:
                    marker = json.loads(post.body)["data"]["marker"]
                    fanouts, deliveries = fanned_at[marker]
                    delivered_at.setdefault(marker, fanouts + self.deliveries - deliveries)
        return handled

    def _recover_flood(self) -> None:
        """The hostile developer asks every failing webhook to recover, every round."""
        for webhook_id in self.failing:
            path = f"/v1/events/webhooks/{webhook_id}/recover"
            body = json.dumps({"since": "2020-01-01T00:00:00Z"}).encode()
            headers = [("X-API-Key", self.hostile_key), ("Content-Type", "application/json")]
            self.stack.gateway.handle("POST", path, headers, body, "127.0.0.1")
            self.recover_calls += 1

    def _idle(self) -> bool:
        for queue in ("EventsQueue", "DeliveryQueue"):
            attributes = self.sqs.get_queue_attributes(QueueUrl=self.stack.physical(queue), AttributeNames=["All"])[
                "Attributes"
            ]
            if any(
                int(attributes.get(f"ApproximateNumberOf{k}", 0))
                for k in ("Messages", "MessagesNotVisible", "MessagesDelayed")
            ):
                return False
        return True

    def _ordinary_dead_letters(self) -> int:
        count = 0
        for queue in ("EventsDeadLetterQueue", "DeliveryDeadLetterQueue"):
            for message in self._receive_all(queue):
                body = message["Body"]
                if any(f'"{developer}"' in body for developer in ORDINARY):
                    count += 1
        return count
