"""No-loss soak: the local stack, several developers with several filtered webhooks each, receivers
on 127.0.0.1 that fail at random (500, 429 + Retry-After, timeouts, resets, slow answers, 410) or
are hostile (answers dripped a byte at a time past the deadline, malformed Retry-After headers),
and a delivery function that crashes mid-batch some of the time. Time is scaled down (retry
schedule, crash visibility).

Phase 1, faulted: for every expected (event, webhook) pair — received with a valid signature, or
dead (its record says so, and it rests in the dead-letter queue). Phase 2, recovery: the receivers
heal, every disabled webhook is enabled again and every dead delivery is recovered through the
API. Then the invariant: every expected pair received with a valid signature — dead after
recovery 0, lost 0, delivered to the wrong developer 0.

The event contract is enforced throughout (SchemaEnforcement=reject): a few events that do not
match their schema must rest in the events dead-letter queue and reach nobody; a share of the
events carry an idempotency key, some of them published twice (another EventBridge id and time),
and each must reach each receiver under one delivery id: duplicates by key 0."""

import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import requests

from events_core.api_keys import ApiKeyStore
from events_core.config import Settings
from events_core.delivery.queues import event_entry
from events_core.delivery.signing import reference_signature
from events_core.records.message import DeliveryMessage
from events_core.webhooks import service
from eventsapi.harness.receiver import Behaviour, Receiver
from eventsapi.local.runtime import LocalRuntime
from eventsapi.local.wiring import REGION

SOAK_PARAMETERS = {
    "RetrySchedule": "1,1,2",  # 4 attempts, so that some pairs do exhaust them
    "RetryDelayScale": "1",
    "FailureThreshold": "1000000",  # auto-disable is tested elsewhere; here it would hide pairs
    "DeliveryConnectTimeout": "1",
    "DeliveryTotalTimeout": "1",
    "LogLevel": "ERROR",
    "DeveloperRateLimit": "1000",  # the recovery phase calls the API in bursts
    "DeveloperBurstLimit": "1000",
    "SchemaEnforcement": "reject",
}
KEYED_SHARE = 0.3  # of the events: published with an idempotency key; half of those twice
INVALID_SHARE = 0.03  # of the events: data missing their type's required fields (rejected)
SECRET = "soak-secret"  # noqa: S105 - a test receiver's secret
SOURCE = Settings().event_source  # the platform's, as the template sets it


class SimulatedCrash(Exception):
    """The delivery function's runtime dying after part of its batch."""


@dataclass(frozen=True)
class Subscription:
    developer: str
    path: str
    event: str
    filter: dict
    wants: Callable[[dict], bool]


# Each filter beside an independent statement of what it selects.
FILTERS: list[tuple[dict, Callable[[dict], bool]]] = [
    ({}, lambda data: True),
    ({"n": [{"numeric": ["<", 50]}]}, lambda data: data["n"] < 50),
    ({"kind": ["a", "b"]}, lambda data: data["kind"] in ("a", "b")),
    (
        {"kind": [{"anything-but": "a"}], "n": [{"numeric": [">=", 20]}]},
        lambda data: data["kind"] != "a" and data["n"] >= 20,
    ),
]


def chaos(rng: random.Random) -> Callable[[], Behaviour]:
    def choose() -> Behaviour:
        roll = rng.random()
        if roll < 0.55:
            return Behaviour(status=200)
        if roll < 0.65:
            return Behaviour(status=204, delay=0.3)  # slow but in time
        if roll < 0.75:
            return Behaviour(status=500)
        if roll < 0.82:
            return Behaviour(status=429, headers={"Retry-After": "1"})
        if roll < 0.85:
            return Behaviour(status=503, headers={"Retry-After": rng.choice(["²", "9" * 400, "-3", "Tue, 99 Foo"])})
        if roll < 0.87:
            return Behaviour(status=200, headers={"Retry-After": "²"})  # a 2xx is a success whatever it says
        if roll < 0.92:
            return Behaviour(status=200, delay=1.5)  # past the 1 s total timeout
        if roll < 0.95:
            return Behaviour(status=200, drip=0.2)  # drips its answer past the deadline
        return Behaviour(reset=True)

    return choose


@dataclass
class Phase:
    """What the receivers saw by the end of a phase, for the expected pairs."""

    received: int  # expected pairs accepted (2xx) with a valid signature
    dead: int  # expected pairs not received whose delivery record says dead
    lost: int  # expected pairs neither received nor dead


@dataclass
class SoakReport:
    events: int
    expected: int
    faulted: Phase
    recovered: Phase
    dead_lettered: int
    recovered_queued: int
    duplicates: int
    wrong_developer: int
    bad_signatures: int
    unexpected: int
    crashes: int
    seconds: float
    outcomes: Counter = field(default_factory=Counter)
    republished: int = 0  # events published a second time with the same idempotency key
    duplicates_by_key: int = 0  # keyed (event, webhook) pairs posted under two delivery ids
    invalid: int = 0  # events published with data that does not match their schema
    schema_rejected: int = 0  # of those, resting in the events dead-letter queue

    @property
    def ok(self) -> bool:
        return (
            self.faulted.lost == 0
            and self.recovered.lost == 0
            and self.recovered.dead == 0
            and self.wrong_developer == 0
            and self.bad_signatures == 0
            and self.unexpected == 0
            and self.duplicates_by_key == 0
            and self.schema_rejected == self.invalid
        )

    def render(self) -> str:
        rows = [
            ("events published", self.events),
            ("expected (event, webhook) pairs", self.expected),
            ("faulted: accepted by the receiver (2xx), valid signature", self.faulted.received),
            ("faulted: dead (record says so)", self.faulted.dead),
            ("faulted: in the delivery dead-letter queue", self.dead_lettered),
            ("faulted: lost", self.faulted.lost),
            ("recovery: dead deliveries queued again through the API", self.recovered_queued),
            ("after recovery: accepted, valid signature", self.recovered.received),
            ("DEAD AFTER RECOVERY", self.recovered.dead),
            ("LOST", self.recovered.lost),
            ("duplicates accepted (same delivery id)", self.duplicates),
            ("delivered to the wrong developer", self.wrong_developer),
            ("bad signatures", self.bad_signatures),
            ("unexpected posts", self.unexpected),
            ("delivery crashes injected", self.crashes),
            ("published twice with one idempotency key", self.republished),
            ("DUPLICATES BY KEY (two delivery ids)", self.duplicates_by_key),
            ("published with data that does not match its schema", self.invalid),
            ("of those, rejected to the events dead-letter queue", self.schema_rejected),
            ("seconds", round(self.seconds, 1)),
        ]
        width = max(len(name) for name, _ in rows)
        lines = ["no-loss soak"] + [f"{name.ljust(width)}  {value}" for name, value in rows]
        lines.append("receiver answers: " + ", ".join(f"{k}={v}" for k, v in sorted(self.outcomes.items())))
        lines.append(
            "invariant (every expected pair received and validly signed after recovery; nothing lost, "
            "nothing to the wrong developer, no key delivered twice, every invalid event rejected): "
            + ("HOLDS" if self.ok else "BROKEN")
        )
        return "\n".join(lines)


class Soak:
    def __init__(self, *, events: int, developers: int = 4, crash_rate: float = 0.15, seed: int = 7):
        self.events = events
        self.developers = [f"soak_dev_{n}" for n in range(developers)]
        self.crash_rate = crash_rate
        self.rng = random.Random(seed)  # noqa: S311 - chaos, not cryptography
        self.crashes = 0
        self.keys: dict[str, str] = {}
        self.event_ids: dict[str, str] = {}
        self.idempotency_keys: dict[str, str] = {}  # marker → key
        self.aliases: dict[str, str] = {}  # a republished event's id → the first one's
        self.invalid_markers: set[str] = set()

    def run(self, timeout: float = 300.0) -> SoakReport:
        started = time.monotonic()
        since = time.time() - 120
        with Receiver() as receiver:
            stack = LocalRuntime(api_port=0, moto_port=0, parameters=SOAK_PARAMETERS).start()
            try:
                self._inject_crashes(stack)
                subscriptions = self._subscribe(receiver)
                published = self._publish(stack)
                self._wait_until_quiet(stack, timeout)
                dead_letters = self._dead_letters(stack)
                rejected = self._rejected(stack)
                faulted = self._phase(stack, receiver, subscriptions, published)
                queued = self._recover(stack, receiver, subscriptions, since)
                self._wait_until_quiet(stack, timeout)
                recovered = self._phase(stack, receiver, subscriptions, published)
            finally:
                stack.stop()
            report = self._report(
                receiver, subscriptions, published, dead_letters, faulted, recovered, queued, time.monotonic() - started
            )
            report.republished, report.invalid, report.schema_rejected = (
                len(self.aliases),
                len(self.invalid_markers),
                rejected,
            )
            report.duplicates_by_key = self._duplicates_by_key(receiver, subscriptions)
            return report

    def _inject_crashes(self, stack: LocalRuntime) -> None:
        deliver = stack.functions["DeliverFunction"]
        real = deliver.invoke

        def crashing(event: dict):
            if self.rng.random() >= self.crash_rate:
                return real(event)
            records = event["Records"]
            handled = self.rng.randrange(0, len(records) + 1)
            if handled:
                real({"Records": records[:handled]})
            self.crashes += 1
            raise SimulatedCrash(f"crashed after {handled} of {len(records)} records")

        deliver.invoke = crashing  # type: ignore[method-assign]
        for source in stack.sources:
            source.crash_visibility = 1

    def _subscribe(self, receiver: Receiver) -> dict[str, Subscription]:
        """webhook id → subscription. Each developer: the four filters on tool.executed, and one
        receiver on app.installed that answers 410 (one event each, so 410 disables cleanly)."""
        store = ApiKeyStore()
        subscriptions: dict[str, Subscription] = {}
        for developer in self.developers:
            self.keys[developer] = store.create(developer, ("read", "write")).key
            for n, (filter_, wants) in enumerate(FILTERS):
                path = f"/{developer}/hook{n}"
                receiver.behave(path, chaos(self.rng))
                hook = service.register(
                    developer,
                    {"event": "tool.executed", "url": receiver.url(path), "secret": SECRET, "filter": filter_},
                )
                subscriptions[hook.webhook_id] = Subscription(developer, path, "tool.executed", filter_, wants)
            gone = f"/{developer}/gone"
            hook = service.register(
                developer, {"event": "app.installed", "url": receiver.behave(gone, status=410), "secret": SECRET}
            )
            subscriptions[hook.webhook_id] = Subscription(developer, gone, "app.installed", {}, lambda data: True)
        return subscriptions

    def _publish(self, stack: LocalRuntime) -> list[tuple[str, str, dict, str]]:
        """(developer, event type, data, event id) of every event put on the bus."""
        events = boto3.client("events", region_name=REGION)
        bus = stack.template.physical["PlatformEventBus"].ref
        planned: list[tuple[str, str, dict[str, Any]]] = [
            (
                developer,
                "app.installed",
                {"marker": f"installed-{developer}", "developer": developer, "appId": "a", "appName": "soak"},
            )
            for developer in self.developers
        ]
        for n in range(self.events):
            developer = self.rng.choice(self.developers)
            planned.append(
                (
                    developer,
                    "tool.executed",
                    {
                        "marker": f"e{n}",
                        "developer": developer,
                        "n": self.rng.randrange(100),
                        "kind": self.rng.choice("abc"),
                        **(
                            {}
                            if self.rng.random() < INVALID_SHARE
                            else {"toolName": "soak", "input": {}, "result": {}, "elapsed_ms": n}
                        ),
                    },
                )
            )
        planned += self._keyed(planned)
        published = []
        for start in range(0, len(planned), 10):
            chunk = planned[start : start + 10]
            answer = events.put_events(Entries=[self._entry(bus, *planned_event) for planned_event in chunk])
            if answer["FailedEntryCount"]:
                raise RuntimeError(f"put-events failed: {answer}")
            published += [(*entry, result["EventId"]) for entry, result in zip(chunk, answer["Entries"], strict=True)]
        for _, _, data, event_id in published:
            first = self.event_ids.setdefault(data["marker"], event_id)
            if first != event_id:
                self.aliases[event_id] = first
        return [p for p in published if p[3] not in self.aliases and p[2]["marker"] not in self.invalid_markers]

    def _keyed(self, planned: list[tuple[str, str, dict[str, Any]]]) -> list[tuple[str, str, dict[str, Any]]]:
        """Give a share of the events idempotency keys; the ones to publish again, at the end."""
        again = []
        for developer, event_type, data in planned:
            if "toolName" not in data and event_type == "tool.executed":
                self.invalid_markers.add(data["marker"])
            elif self.rng.random() < KEYED_SHARE:
                self.idempotency_keys[data["marker"]] = f"soak:{data['marker']}"
                if self.rng.random() < 0.5:
                    again.append((developer, event_type, data))
        return again

    def _entry(self, bus: str, developer: str, event_type: str, data: dict[str, Any]) -> dict[str, str]:
        entry = event_entry(bus, SOURCE, event_type, developer, data)
        if data["marker"] in self.idempotency_keys:
            detail = json.loads(entry["Detail"])
            entry["Detail"] = json.dumps({**detail, "idempotencyKey": self.idempotency_keys[data["marker"]]})
        return entry

    def _rejected(self, stack: LocalRuntime) -> int:
        """Events in the events dead-letter queue for not matching their schema."""
        sqs = boto3.client("sqs", region_name=REGION)
        url = stack.template.physical["EventsDeadLetterQueue"].ref
        markers: set[str] = set()
        while True:
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return len(markers & self.invalid_markers)
            for message in messages:
                if message["MessageAttributes"]["reason"]["StringValue"].startswith("schema:"):
                    markers.add(json.loads(message["Body"])["detail"]["data"]["marker"])

    def _duplicates_by_key(self, receiver: Receiver, subscriptions: dict[str, Subscription]) -> int:
        """(keyed event, webhook) pairs posted under more than one delivery id."""
        by_path = {sub.path: webhook_id for webhook_id, sub in subscriptions.items()}
        ids: dict[tuple[str, str], set[str]] = {}
        for post in list(receiver.received):
            marker = json.loads(post.body)["data"]["marker"]
            if marker in self.idempotency_keys:
                ids.setdefault((marker, by_path[post.path]), set()).add(post.headers.get("X-Webhook-Id", ""))
        return sum(len(found) > 1 for found in ids.values())

    def _wait_until_quiet(self, stack: LocalRuntime, timeout: float) -> None:
        sqs = boto3.client("sqs", region_name=REGION)
        queues = [stack.template.physical[name].ref for name in ("EventsQueue", "DeliveryQueue")]
        deadline = time.monotonic() + timeout
        quiet_checks = 0
        while time.monotonic() < deadline:
            pending = 0
            for url in queues:
                attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
                pending += int(attributes["ApproximateNumberOfMessages"])
                pending += int(attributes["ApproximateNumberOfMessagesNotVisible"])
                pending += int(attributes.get("ApproximateNumberOfMessagesDelayed", 0))
            quiet_checks = quiet_checks + 1 if pending == 0 else 0
            if quiet_checks >= 3:
                return
            time.sleep(0.5)
        raise TimeoutError(f"queues still busy after {timeout:.0f} s")

    def _dead_letters(self, stack: LocalRuntime) -> list[DeliveryMessage]:
        sqs = boto3.client("sqs", region_name=REGION)
        url = stack.template.physical["DeliveryDeadLetterQueue"].ref
        found: list[DeliveryMessage] = []
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get(
                "Messages", []
            )
            if not messages:
                return found
            found.extend(DeliveryMessage.from_json(m["Body"]) for m in messages)

    def _api(self, stack: LocalRuntime, developer: str, method: str, path: str, body: dict | None = None) -> dict:
        answer = requests.request(
            method, f"{stack.api_url}{path}", json=body, headers={"X-API-Key": self.keys[developer]}, timeout=60
        )
        if answer.status_code >= 400:
            raise RuntimeError(f"{method} {path} → {answer.status_code} {answer.text}")
        return answer.json()

    def _dead_records(self, stack: LocalRuntime, subscriptions: dict[str, Subscription]) -> set[tuple[str, str]]:
        """(delivery id, webhook id) of every dead delivery, read through the API."""
        dead = set()
        for webhook_id, sub in subscriptions.items():
            cursor = None
            while True:
                query = "?status=dead&limit=100" + (f"&cursor={cursor}" if cursor else "")
                page = self._api(stack, sub.developer, "GET", f"/v1/events/webhooks/{webhook_id}/deliveries{query}")
                dead |= {(self.aliases.get(d["eventId"], d["eventId"]), webhook_id) for d in page["deliveries"]}
                cursor = page["nextCursor"]
                if not cursor:
                    break
        return dead

    def _recover(
        self, stack: LocalRuntime, receiver: Receiver, subscriptions: dict[str, Subscription], since: float
    ) -> int:
        """Heal every receiver, enable every webhook again, and recover every dead delivery."""
        for sub in subscriptions.values():
            receiver.behave(sub.path, status=200)
        since_iso = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(since))
        queued = 0
        for webhook_id, sub in subscriptions.items():
            hook = f"/v1/events/webhooks/{webhook_id}"
            if not self._api(stack, sub.developer, "GET", hook)["enabled"]:
                self._api(stack, sub.developer, "PATCH", hook, {"enabled": True})
            cursor = None
            while True:
                answer = self._api(
                    stack, sub.developer, "POST", f"{hook}/recover", {"since": since_iso, "cursor": cursor}
                )
                queued += answer["queued"]
                cursor = answer["nextCursor"]
                if not cursor:
                    break
        return queued

    def _phase(
        self,
        stack: LocalRuntime,
        receiver: Receiver,
        subscriptions: dict[str, Subscription],
        published: list[tuple[str, str, dict, str]],
    ) -> Phase:
        expected = self._expected(subscriptions, published)
        delivered = set(self._accepted(receiver, subscriptions)[0])
        dead = self._dead_records(stack, subscriptions)
        missing = expected - delivered
        return Phase(
            received=len(expected & delivered),
            dead=len(missing & dead),
            lost=len(missing - dead),
        )

    @staticmethod
    def _expected(
        subscriptions: dict[str, Subscription], published: list[tuple[str, str, dict, str]]
    ) -> set[tuple[str, str]]:
        """(event id, webhook id) of every pair the soak's own statement of the filters selects."""
        return {
            (event_id, webhook_id)
            for developer, event_type, data, event_id in published
            for webhook_id, sub in subscriptions.items()
            if sub.developer == developer and sub.event == event_type and sub.wants(data)
        }

    def _accepted(
        self, receiver: Receiver, subscriptions: dict[str, Subscription]
    ) -> tuple[Counter, Counter, int, int]:
        """Posts the receivers accepted (2xx) with a valid signature, by (event id, webhook id);
        receiver answers; posts to the wrong developer; bad signatures."""
        by_path = {sub.path: webhook_id for webhook_id, sub in subscriptions.items()}
        received: Counter = Counter()
        answers: Counter = Counter()
        wrong_developer = bad_signatures = 0
        for post in list(receiver.received):
            answers["reset" if post.answered is None else str(post.answered)] += 1
            webhook_id = by_path[post.path]
            body = json.loads(post.body)
            if body["data"]["developer"] != subscriptions[webhook_id].developer:
                wrong_developer += 1
            if post.headers.get("X-Webhook-Signature") != reference_signature(SECRET, post.body):
                bad_signatures += 1
                continue
            if post.accepted:
                received[(self.event_ids[body["data"]["marker"]], webhook_id)] += 1
        return received, answers, wrong_developer, bad_signatures

    def _report(
        self,
        receiver: Receiver,
        subscriptions: dict[str, Subscription],
        published: list[tuple[str, str, dict, str]],
        dead_letters: list[DeliveryMessage],
        faulted: Phase,
        recovered: Phase,
        queued: int,
        seconds: float,
    ) -> SoakReport:
        expected = self._expected(subscriptions, published)
        received, answers, wrong_developer, bad_signatures = self._accepted(receiver, subscriptions)
        dead_pairs = {(self.aliases.get(m.event_id, m.event_id), m.webhook_id) for m in dead_letters}
        return SoakReport(
            events=len(published),
            expected=len(expected),
            faulted=faulted,
            recovered=recovered,
            dead_lettered=len(dead_pairs & expected),
            recovered_queued=queued,
            duplicates=sum(received.values()) - len(received),
            wrong_developer=wrong_developer,
            bad_signatures=bad_signatures,
            unexpected=len(set(received) - expected),
            crashes=self.crashes,
            seconds=seconds,
            outcomes=answers,
        )
