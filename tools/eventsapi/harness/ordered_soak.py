"""Ordered delivery under faults, on the local stack: one ordered webhook (`ordering` by `key`),
many keys, a receiver that fails a share of posts at random, a delivery function that crashes
mid-batch some of the time, and — in the second phase — one key whose posts all fail for minutes
(its head retries through the stall while the other keys flow).

Phase 1, without the stall: every key's events, sent with `detail.sequence` shuffled within the
window; the other keys' delay (put on the bus → first accepted post), p99.
Phase 2, with the stall: the same load beside the stalled key; the other keys' p99 again, and the
ratio. Then everything drains (the stalled key heals) and the receiver's log is checked:
inversions (an accepted post not marked out of order that comes after a later event of its key was
accepted), lost (an event never accepted), duplicates (an event accepted more than once)."""

import json
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import boto3

from events_core.api_keys import ApiKeyStore
from events_core.clock import iso_ms, now_ms
from events_core.config import Settings
from events_core.delivery.queues import event_entry
from events_core.webhooks import service
from eventsapi.harness.progress import progress
from eventsapi.harness.receiver import Behaviour, Receiver
from eventsapi.local.runtime import LocalRuntime
from eventsapi.local.wiring import REGION

STALL_RETRIES = "2,4,8,16,32,64,128"  # 8 attempts over about 4 minutes: the stalled head outlives its stall
PARAMETERS = {
    "RetrySchedule": STALL_RETRIES,
    "RetryDelayScale": "1",
    "FailureThreshold": "1000000",  # the circuit is another test's; here it would hold every key
    "DeliveryConnectTimeout": "1",
    "DeliveryTotalTimeout": "2",
    "LogLevel": "ERROR",
}
SOURCE = Settings().event_source
DEVELOPER = "ordered_soak"
WINDOW_MS = 1500
STALLED = "stalled"


class SimulatedCrash(Exception):
    """The delivery function's runtime dying after part of its batch."""


@dataclass
class OrderedReport:
    keys: int
    events: int
    stall_seconds: float
    p99_without: float
    p99_with: float
    inversions: int
    lost: int
    duplicates: int
    out_of_order: int
    failed_posts: int
    crashes: int
    seconds: float

    @property
    def ratio(self) -> float:
        return self.p99_with / self.p99_without if self.p99_without else 0.0

    @property
    def ok(self) -> bool:
        return self.inversions == 0 and self.lost == 0

    def render(self) -> str:
        rows = [
            ("ordered webhook: keys, events (sequence shuffled within the window)", f"{self.keys}, {self.events}"),
            ("receiver failures (500) / delivery crashes", f"{self.failed_posts} / {self.crashes}"),
            (f"one key stalled (all its posts fail) for {self.stall_seconds:.0f} s", "its head retries, its key waits"),
            ("other keys: p99 delay without the stalled key (s)", f"{self.p99_without:.2f}"),
            ("other keys: p99 delay beside the stalled key (s)", f"{self.p99_with:.2f}"),
            ("other keys: p99 ratio (with / without; goal ≤ 1.1)", f"{self.ratio:.2f}"),
            ("INVERSIONS", self.inversions),
            ("LOST", self.lost),
            ("duplicates (at-least-once: a crash after the post)", self.duplicates),
            ("marked out of order", self.out_of_order),
            ("seconds", f"{self.seconds:.1f}"),
        ]
        width = max(len(name) for name, _ in rows)
        lines = ["ordered delivery soak"] + [f"{name.ljust(width)}  {value}" for name, value in rows]
        lines.append(f"invariant (inversions 0, lost 0): {'HOLDS' if self.ok else 'BROKEN'}")
        return "\n".join(lines)


class OrderedSoak:
    def __init__(
        self, *, events: int = 120, keys: int = 8, stall_seconds: float = 120.0, fail_share: float = 0.1,
        crash_rate: float = 0.1, seed: int = 35,
    ):  # fmt: skip
        self.events, self.keys, self.stall_seconds = events, keys, stall_seconds
        self.fail_share, self.crash_rate = fail_share, crash_rate
        self.rng = random.Random(seed)  # noqa: S311 - chaos, not cryptography
        self.put_at: dict[str, float] = {}
        self.stalled_until = 0.0
        self.crashes = 0
        self.receiver: Receiver

    def run(self, timeout: float = 600.0) -> OrderedReport:
        started = time.monotonic()
        with Receiver() as receiver:
            self.receiver = receiver
            stack = LocalRuntime(api_port=0, moto_port=0, parameters=PARAMETERS).start()
            try:
                self._inject_crashes(stack)
                self._subscribe(receiver)
                bus = stack.template.physical["PlatformEventBus"].ref
                keys = [f"k{n}" for n in range(self.keys)]
                progress(f"ordered soak 1/3: {self.events} events over {self.keys} keys, no stall")
                without = self._publish(bus, keys, "without")
                self._wait(lambda: self._accepted_all(without), timeout)
                p99_without = self._p99(without)
                progress(f"ordered soak 2/3: the same beside a key stalled for {self.stall_seconds:.0f} s")
                self.stalled_until = time.monotonic() + self.stall_seconds
                stalled = self._publish(bus, [STALLED], "stalled", count=max(6, self.events // self.keys))
                beside = self._publish(bus, keys, "with")
                self._wait(lambda: self._accepted_all(beside), timeout)
                p99_with = self._p99(beside)
                progress("ordered soak 3/3: the stalled key heals; draining")
                self._wait(lambda: self._accepted_all(without + beside + stalled), timeout + self.stall_seconds)
            finally:
                stack.stop()
        inversions, lost, duplicates, late, failed = self._check(without + stalled + beside)
        return OrderedReport(
            keys=self.keys,
            events=len(without) + len(beside) + len(stalled),
            stall_seconds=self.stall_seconds,
            p99_without=p99_without,
            p99_with=p99_with,
            inversions=inversions,
            lost=lost,
            duplicates=duplicates,
            out_of_order=late,
            failed_posts=failed,
            crashes=self.crashes,
            seconds=time.monotonic() - started,
        )

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

    def _subscribe(self, receiver: Receiver) -> None:
        ApiKeyStore().create(DEVELOPER, ("read", "write"))

        def decide(body: bytes) -> Behaviour:
            data = json.loads(body)["data"]
            if data["key"] == STALLED and time.monotonic() < self.stalled_until:
                return Behaviour(status=503)
            return Behaviour(status=500) if self.rng.random() < self.fail_share else Behaviour()

        url = receiver.behave_by_body("/ordered", decide)
        ordering = {"by": "key", "windowMs": WINDOW_MS, "onFailure": "skip"}
        service.register(DEVELOPER, {"event": "tool.executed", "url": url, "ordering": ordering})

    def _publish(self, bus: str, keys: list[str], label: str, count: int | None = None) -> list[str]:
        """Each key's events, `count` of them (default: the phase's share), their sequences shuffled in
        groups of five (well within the window), sent as a steady stream; their markers."""
        per_key = count or max(2, self.events // len(keys))
        planned: list[tuple[str, int]] = []
        for start in range(0, per_key, 5):
            group = [(key, n) for key in keys for n in range(start, min(per_key, start + 5))]
            self.rng.shuffle(group)
            planned += group
        events = boto3.client("events", region_name=REGION)
        markers = []
        for start in range(0, len(planned), 10):
            chunk = []
            for key, n in planned[start : start + 10]:
                marker = f"{label}-{key}-{n}"
                entry = event_entry(bus, SOURCE, "tool.executed", DEVELOPER, {"key": key, "n": n, "marker": marker})
                detail = json.loads(entry["Detail"])
                detail["sequence"] = n if label != "with" else 1000 + n  # after phase 1's, per key
                detail["timestamp"] = iso_ms(now_ms())
                entry["Detail"] = json.dumps(detail)
                chunk.append(entry)
                markers.append(marker)
                self.put_at[marker] = time.monotonic()
            answer = events.put_events(Entries=chunk)
            if answer["FailedEntryCount"]:
                raise RuntimeError(f"put-events failed: {answer}")
            time.sleep(0.05)
        return markers

    def _accepted_at(self) -> dict[str, float]:
        seen: dict[str, float] = {}
        for post in list(self.receiver.received):
            if post.accepted:
                marker = json.loads(post.body)["data"]["marker"]
                seen[marker] = min(seen.get(marker, post.received_at), post.received_at)
        return seen

    def _accepted_all(self, markers: list[str]) -> bool:
        seen = self._accepted_at()
        return all(marker in seen for marker in markers)

    def _p99(self, markers: list[str]) -> float:
        seen = self._accepted_at()
        delays = sorted(seen[m] - self.put_at[m] for m in markers if m in seen)
        return delays[min(len(delays) - 1, round(0.99 * (len(delays) - 1)))] if delays else 0.0

    def _check(self, markers: list[str]) -> tuple[int, int, int, int, int]:
        """(inversions, lost, duplicates, marked out of order, failed posts) from the receiver's log."""
        highest: dict[str, int] = defaultdict(lambda: -1)
        accepted: dict[str, int] = defaultdict(int)
        inversions = late = failed = 0
        for post in list(self.receiver.received):
            if not post.accepted:
                failed += 1
                continue
            data = json.loads(post.body)["data"]
            sequence = int(post.headers.get("X-Webhook-Sequence", "-1"))
            accepted[data["marker"]] += 1
            if post.headers.get("X-Webhook-Out-Of-Order") == "true":
                late += 1
            elif sequence < highest[data["key"]]:
                inversions += 1
            highest[data["key"]] = max(highest[data["key"]], sequence)
        lost = sum(1 for marker in markers if not accepted.get(marker))
        duplicates = sum(count - 1 for count in accepted.values() if count > 1)
        return inversions, lost, duplicates, late, failed

    @staticmethod
    def _wait(done: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"not delivered within {timeout:.0f} s")
            time.sleep(0.25)
