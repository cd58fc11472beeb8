"""Health figures: the histogram's percentiles, a batch's tally, the environment's buffer of
figures (written per (webhook, minute), never per delivery) and the reader's bounded windows."""

from dataclasses import dataclass
from types import SimpleNamespace

import pytest
import yaml

from events_core.config import Settings
from events_core.errors import BadRequest
from events_core.stats import reader
from events_core.stats.histogram import BOUNDS_MS, BUCKETS, bounds_of, bucket_of, percentile
from events_core.stats.recorder import FULL_BATCH, HealthRecorder
from events_core.stats.tally import Figures, tally
from eventsapi.local.wiring import TEMPLATE

MINUTE = 60_000
HOUR = 60 * MINUTE


# -- the histogram
def test_every_latency_falls_in_exactly_the_bucket_its_bounds_say():
    for latency in (0, 1, 2, 3, 99, 100, 101, 86_400_000, 86_400_001, 10**12):
        lower, upper = bounds_of(bucket_of(latency))
        assert (lower < latency or latency == lower == 0) and (upper is None or latency <= upper)
    assert len(BOUNDS_MS) + 1 == BUCKETS and list(BOUNDS_MS) == sorted(BOUNDS_MS)


def test_a_percentile_lies_in_the_bucket_holding_its_rank():
    latencies = [3, 4, 7, 12, 40, 41, 42, 300, 900, 5000]
    counts = [0] * BUCKETS
    for latency in latencies:
        counts[bucket_of(latency)] += 1
    for q, rank in ((0.5, 5), (0.9, 9), (0.99, 10)):
        lower, upper = bounds_of(bucket_of(sorted(latencies)[rank - 1]))
        assert lower < percentile(counts, q) <= upper
    assert percentile([0] * BUCKETS, 0.5) is None
    assert percentile({bucket_of(10**9): 1}, 0.5) == BOUNDS_MS[-1]  # the open bucket answers its floor


# -- a batch's tally
@dataclass
class _Verdict:
    outcome: SimpleNamespace


def _attempt(message_id, webhook, at_ms, ok, latency, attempt=1):
    message = SimpleNamespace(
        developer_id="dev", webhook_id=webhook, attempt=attempt, timestamp="1970-01-01T00:00:00.000Z"
    )
    return SimpleNamespace(
        incoming=SimpleNamespace(message_id=message_id),
        message=message,
        result=SimpleNamespace(ok=ok, latency_ms=latency),
        at_ms=at_ms,
    )


def _verdict(outcome: str):
    return _Verdict(SimpleNamespace(value=outcome))


def test_a_batch_tallies_per_webhook_and_minute_and_skips_what_comes_back():
    attempts = [
        _attempt("a", "w1", 5 * MINUTE, True, 12),
        _attempt("b", "w1", 5 * MINUTE + 10, False, 300),
        _attempt("c", "w1", 6 * MINUTE, True, 20, attempt=2),
        _attempt("d", "w2", 5 * MINUTE, False, 5),
        _attempt("e", "w2", 5 * MINUTE, False, 5),  # its next step was not queued: comes back
    ]
    verdicts = {
        "a": _verdict("delivered"),
        "b": _verdict("retry_scheduled"),
        "c": _verdict("delivered"),
        "d": _verdict("dead"),
        "e": _verdict("failed"),
        "f": _verdict("throttled"),
    }
    throttled = (SimpleNamespace(message_id="f"), SimpleNamespace(developer_id="dev", webhook_id="w2"))
    found = tally(attempts, verdicts, [throttled])
    w1 = found[("dev", "w1", 5)]
    assert w1.counts == {"attempts": 2, "succeeded": 1, "firstAttemptSucceeded": 1, "retrying": 1}
    assert w1.receiver == {bucket_of(12): 1, bucket_of(300): 1}
    assert w1.delivered == {bucket_of(5 * MINUTE): 1}
    assert found[("dev", "w1", 6)].counts == {"attempts": 1, "succeeded": 1}
    assert found[("dev", "w2", 5)].counts == {"attempts": 1, "dead": 1}
    assert sum(f.counts.get("throttled", 0) for k, f in found.items() if k[1] == "w2") == 1


# -- the environment's buffer
class _Recorded:
    def __init__(self, fail: bool = False):
        self.writes: list[tuple] = []
        self.fail = fail

    def add(self, key, figures, expires_at):
        if self.fail:
            raise RuntimeError("throttled")
        self.writes.append((key, dict(figures.counts)))


def _deliveries(n: int, webhook: str = "w1"):
    import time

    at = int(time.time() * 1000)
    attempts = [_attempt(f"{webhook}{i}", webhook, at, True, 10) for i in range(n)]
    return attempts, {a.incoming.message_id: _verdict("delivered") for a in attempts}


def test_full_batches_are_added_up_in_memory_and_written_once_per_webhook_minute():
    store, clock = _Recorded(), [0.0]
    recorder = HealthRecorder(Settings(), store, clock=lambda: clock[0])
    for _ in range(20):  # 200 posts in full batches within the flush interval: nothing written yet
        recorder.record(*_deliveries(FULL_BATCH), [])
    assert store.writes == []
    clock[0] = 61.0
    recorder.record(*_deliveries(FULL_BATCH), [])
    [(_, counts)] = store.writes
    assert counts == {"attempts": 210, "succeeded": 210, "firstAttemptSucceeded": 210}


def test_a_short_batch_writes_everything_kept_and_flush_seconds_0_writes_every_batch():
    store = _Recorded()
    recorder = HealthRecorder(Settings(), store, clock=lambda: 0.0)
    recorder.record(*_deliveries(FULL_BATCH), [])
    recorder.record(*_deliveries(3, "w2"), [], batch_size=3)
    assert sorted(key[1] for key, _ in store.writes) == ["w1", "w2"] and not recorder.kept

    exact = _Recorded()
    every = HealthRecorder(Settings(stats_flush_seconds=0), exact, clock=lambda: 0.0)
    every.record(*_deliveries(FULL_BATCH), [])
    assert [counts["attempts"] for _, counts in exact.writes] == [FULL_BATCH]


def test_a_failed_write_keeps_the_figures_for_the_next_batch():
    store = _Recorded(fail=True)
    recorder = HealthRecorder(Settings(stats_flush_seconds=0), store, clock=lambda: 0.0)
    recorder.record(*_deliveries(4), [], batch_size=4)
    store.fail = False
    recorder.record(*_deliveries(2), [], batch_size=2)
    [(_, counts)] = store.writes
    assert counts["attempts"] == 6


def test_full_batch_is_the_delivery_event_sources_batch_size():
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    document = yaml.load(TEMPLATE.read_text(), Loader=Loader)  # noqa: S506 - SafeLoader subclass
    assert document["Resources"]["DeliveryEventSource"]["Properties"]["BatchSize"] == FULL_BATCH


# -- the reader
class _Store:
    """Minutes and hours in memory, counting the items each read touches."""

    def __init__(self):
        self.minute: dict[int, Figures] = {}
        self.hour: dict[int, Figures] = {}
        self.read = 0
        self.kept: list[int] = []

    def minutes(self, developer_id, webhook_id, first, last):
        found = [(m, f) for m, f in sorted(self.minute.items()) if first <= m <= last]
        self.read += len(found)
        return iter(found)

    def hours(self, developer_id, webhook_id, first, last):
        found = [(h, f) for h, f in sorted(self.hour.items()) if first <= h <= last]
        self.read += len(found)
        return iter(found)

    def keep_hours(self, developer_id, webhook_id, hours):
        for hour, figures, _ in hours:
            self.hour[hour] = figures
            self.kept.append(hour)


def _figures(attempts: int, succeeded: int) -> Figures:
    return Figures(counts={"attempts": attempts, "succeeded": succeeded}, receiver={bucket_of(30): attempts})


def test_hours_are_added_up_once_then_read_as_one_item_each(monkeypatch):
    monkeypatch.setattr(reader, "settings", lambda: Settings())
    store = _Store()
    now = 1_000 * HOUR + 30 * MINUTE
    for minute in range((now - 24 * HOUR) // MINUTE, now // MINUTE):
        store.minute[minute] = _figures(4, 3)
    window = reader.Window(now - 24 * HOUR, now, "hour")
    first = reader.bucket_figures("dev", "w", window, store, at_ms=now)  # type: ignore[arg-type]
    assert sum(f.counts["attempts"] for _, f in first) == 24 * 60 * 4
    assert len(store.kept) == 24  # every settled hour; not the current one
    store.read = 0
    again = reader.bucket_figures("dev", "w", window, store, at_ms=now)  # type: ignore[arg-type]
    assert [f.counts for _, f in again] == [f.counts for _, f in first]
    assert store.read <= 24 + 2 * 60  # kept hours, then the unsettled hours' minutes only


def test_windows_are_bounded_per_granularity_and_unknown_parameters_refused():
    assert reader.parse_window({}).granularity == "hour"
    with pytest.raises(BadRequest, match="unknown parameter"):
        reader.parse_window({"limit": "5"})
    with pytest.raises(BadRequest, match="6 hours"):
        reader.parse_window({"granularity": "minute", "since": "2026-01-01T00:00:00Z", "until": "2026-01-01T07:00:00Z"})
    with pytest.raises(BadRequest, match="not be after"):
        reader.parse_window({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"})
    longest = reader.Window(0, reader.MAX_WINDOW_MS["day"], "day")
    assert len(longest.bucket_starts()) == 31


def test_failure_share_reads_minutes(monkeypatch):
    store = _Store()
    store.minute[10] = _figures(4, 1)
    store.minute[11] = _figures(4, 4)
    assert reader.failure_share("dev", "w", 10 * MINUTE, 12 * MINUTE, store) == 3 / 8  # type: ignore[arg-type]
    assert reader.failure_share("dev", "w", 20 * MINUTE, 22 * MINUTE, store) is None  # type: ignore[arg-type]
