"""No-loss soak: the local stack, several developers with several filtered webhooks each, receivers
on 127.0.0.1 that fail at random (500, 429 + Retry-After, timeouts, resets, slow answers, 410), and
a delivery function that crashes mid-batch some of the time. Time is scaled down (retry schedule,
crash visibility). Then, for every expected (event, webhook) pair: received with a valid signature,
or resting in the dead-letter queue. Nothing lost, nothing delivered to the wrong developer."""

import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import boto3

from events_core.api_keys import ApiKeyStore
from events_core.delivery.envelope import DeliveryMessage
from events_core.delivery.signing import reference_signature
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
}
SECRET = "soak-secret"  # noqa: S105 - a test receiver's secret


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
        if roll < 0.85:
            return Behaviour(status=429, headers={"Retry-After": "1"})
        if roll < 0.92:
            return Behaviour(status=200, delay=1.5)  # past the 1 s total timeout
        return Behaviour(reset=True)

    return choose


@dataclass
class SoakReport:
    events: int
    expected: int
    received: int
    duplicates: int
    dead_lettered: int
    lost: int
    wrong_developer: int
    bad_signatures: int
    unexpected: int
    crashes: int
    seconds: float
    outcomes: Counter = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.wrong_developer == 0 and self.bad_signatures == 0 and self.unexpected == 0

    def render(self) -> str:
        rows = [
            ("events published", self.events),
            ("expected (event, webhook) pairs", self.expected),
            ("accepted by the receiver (2xx), valid signature", self.received),
            ("duplicates accepted (same delivery id)", self.duplicates),
            ("dead-lettered", self.dead_lettered),
            ("LOST", self.lost),
            ("delivered to the wrong developer", self.wrong_developer),
            ("bad signatures", self.bad_signatures),
            ("unexpected posts", self.unexpected),
            ("delivery crashes injected", self.crashes),
            ("seconds", round(self.seconds, 1)),
        ]
        width = max(len(name) for name, _ in rows)
        lines = ["no-loss soak"] + [f"{name.ljust(width)}  {value}" for name, value in rows]
        lines.append("receiver answers: " + ", ".join(f"{k}={v}" for k, v in sorted(self.outcomes.items())))
        lines.append("invariant: " + ("HOLDS" if self.ok else "BROKEN"))
        return "\n".join(lines)


class Soak:
    def __init__(self, *, events: int, developers: int = 4, crash_rate: float = 0.15, seed: int = 7):
        self.events = events
        self.developers = [f"soak_dev_{n}" for n in range(developers)]
        self.crash_rate = crash_rate
        self.rng = random.Random(seed)  # noqa: S311 - chaos, not cryptography
        self.crashes = 0

    def run(self, timeout: float = 300.0) -> SoakReport:
        started = time.monotonic()
        with Receiver() as receiver:
            stack = LocalRuntime(api_port=0, moto_port=0, parameters=SOAK_PARAMETERS).start()
            try:
                self._inject_crashes(stack)
                subscriptions = self._subscribe(receiver)
                published = self._publish(stack)
                self._wait_until_quiet(stack, timeout)
                dead = self._dead_letters(stack)
            finally:
                stack.stop()
            return self._report(receiver, subscriptions, published, dead, time.monotonic() - started)

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
            store.create(developer, ("read", "write"))
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

    def _publish(self, stack: LocalRuntime) -> list[tuple[str, str, dict]]:
        """(developer, event type, data) of every event put on the bus."""
        events = boto3.client("events", region_name=REGION)
        bus = stack.template.physical["PlatformEventBus"].ref
        published = [
            (developer, "app.installed", {"marker": f"installed-{developer}", "developer": developer})
            for developer in self.developers
        ]
        for n in range(self.events):
            developer = self.rng.choice(self.developers)
            published.append(
                (
                    developer,
                    "tool.executed",
                    {
                        "marker": f"e{n}",
                        "developer": developer,
                        "n": self.rng.randrange(100),
                        "kind": self.rng.choice("abc"),
                    },
                )
            )
        for start in range(0, len(published), 10):
            answer = events.put_events(
                Entries=[
                    {
                        "EventBusName": bus,
                        "Source": "cn.invoratec.platform",
                        "DetailType": event_type,
                        "Detail": json.dumps({"developerId": developer, "data": data}),
                    }
                    for developer, event_type, data in published[start : start + 10]
                ]
            )
            if answer["FailedEntryCount"]:
                raise RuntimeError(f"put-events failed: {answer}")
        return published

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

    def _report(
        self,
        receiver: Receiver,
        subscriptions: dict[str, Subscription],
        published: list[tuple[str, str, dict]],
        dead: list[DeliveryMessage],
        seconds: float,
    ) -> SoakReport:
        by_path = {sub.path: webhook_id for webhook_id, sub in subscriptions.items()}
        expected = {
            (data["marker"], webhook_id)
            for developer, event_type, data in published
            for webhook_id, sub in subscriptions.items()
            if sub.developer == developer and sub.event == event_type and sub.wants(data)
        }
        received: Counter = Counter()  # (event, webhook) → posts the receiver accepted (2xx)
        answers: Counter = Counter()
        wrong_developer = bad_signatures = 0
        for post in receiver.received:
            answers["reset" if post.answered is None else str(post.answered)] += 1
            webhook_id = by_path[post.path]
            body = json.loads(post.body)
            if body["data"]["developer"] != subscriptions[webhook_id].developer:
                wrong_developer += 1
            if post.headers.get("X-Webhook-Signature") != reference_signature(SECRET, post.body):
                bad_signatures += 1
                continue
            if post.accepted:
                received[(body["data"]["marker"], webhook_id)] += 1
        dead_pairs = {(message.data["marker"], message.webhook_id) for message in dead}
        delivered = set(received)
        return SoakReport(
            events=len(published),
            expected=len(expected),
            received=len(delivered & expected),
            duplicates=sum(received.values()) - len(received),
            dead_lettered=len(dead_pairs & expected),
            lost=len(expected - delivered - dead_pairs),
            wrong_developer=wrong_developer,
            bad_signatures=bad_signatures,
            unexpected=len((delivered | dead_pairs) - expected),
            crashes=self.crashes,
            seconds=seconds,
            outcomes=answers,
        )
