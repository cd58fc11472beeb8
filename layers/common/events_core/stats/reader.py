"""A window's health figures: its buckets (minute, hour or day, UTC), its totals, and the failing
share other features read (`failure_share`).

Limits, so the items one read touches stay bounded whatever the deliveries: a minute window spans at
most 6 hours (≤ 360 minute items), an hour window 7 days (≤ 168 hour items + the last ≤ 77 minutes'
items), a day window 31 days (≤ 744 hour items + the same minutes).
"""

from dataclasses import dataclass
from typing import Any

from events_core.clock import iso_ms, now_ms
from events_core.config import settings
from events_core.errors import BadRequest
from events_core.records.message import window_bound
from events_core.stats.histogram import percentile
from events_core.stats.store import HOUR_MINUTES, SETTLE_MS, StatsStore
from events_core.stats.tally import MINUTE_MS, STATUSES, Figures

HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
GRANULARITY_MS = {"minute": MINUTE_MS, "hour": HOUR_MS, "day": DAY_MS}
MAX_WINDOW_MS = {"minute": 6 * HOUR_MS, "hour": 7 * DAY_MS, "day": 31 * DAY_MS}
_LONGEST = {"minute": "6 hours", "hour": "7 days", "day": "31 days"}
DEFAULT_WINDOW_MS = DAY_MS
DEFAULT_GRANULARITY = "hour"
KEEP_HOURS_PER_READ = 200  # settled hours one read writes at most (a first 31-day read: 744)
QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))


@dataclass(frozen=True)
class Window:
    since_ms: int
    until_ms: int
    granularity: str = DEFAULT_GRANULARITY

    @property
    def step_ms(self) -> int:
        return GRANULARITY_MS[self.granularity]

    def bucket_starts(self) -> list[int]:
        """Whole periods overlapping [since, until): the first starts at or before `since`."""
        step = self.step_ms
        if self.until_ms <= self.since_ms:
            return []
        return list(range(self.since_ms // step * step, self.until_ms, step))


def parse_window(params: dict[str, str], *, allowed: frozenset[str] = frozenset()) -> Window:
    """since, until (ISO-8601; default the last 24 hours) and granularity (default hour)."""
    unknown = sorted(set(params) - {"since", "until", "granularity"} - allowed)
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(u[:32] for u in unknown[:5])}", field=unknown[0][:32])
    granularity = params.get("granularity", DEFAULT_GRANULARITY)
    if granularity not in GRANULARITY_MS:
        raise BadRequest(f"granularity: one of minute, hour, day, got {granularity[:32]!r}", field="granularity")
    until = window_bound("until", params["until"]) if "until" in params else now_ms()
    since = window_bound("since", params["since"]) if "since" in params else until - DEFAULT_WINDOW_MS
    if since > until:
        raise BadRequest("since: must not be after until", field="since")
    if until - since > MAX_WINDOW_MS[granularity]:
        raise BadRequest(
            f"since: a {granularity} window spans at most {_LONGEST[granularity]}, got"
            f" {(until - since) / HOUR_MS:.1f} hours; use a coarser granularity or a shorter window",
            field="since",
        )
    return Window(since, until, granularity)


def bucket_figures(
    developer_id: str, webhook_id: str, window: Window, store: StatsStore | None = None, *, at_ms: int | None = None
) -> list[tuple[int, Figures]]:
    """(bucket start, figures) for every bucket of the window, empty ones included."""
    store = store or StatsStore()
    now = now_ms() if at_ms is None else at_ms
    starts = window.bucket_starts()
    if not starts:
        return []
    step = window.step_ms
    if window.granularity == "minute":
        per_period = dict(store.minutes(developer_id, webhook_id, starts[0] // MINUTE_MS, starts[-1] // MINUTE_MS))
        return [(start, per_period.get(start // MINUTE_MS, Figures())) for start in starts]
    first_hour, last_hour = starts[0] // HOUR_MS, (starts[-1] + step) // HOUR_MS - 1
    hours = _hours(store, developer_id, webhook_id, first_hour, last_hour, now)
    found = []
    for start in starts:
        figures = Figures()
        for hour in range(start // HOUR_MS, (start + step) // HOUR_MS):
            if hour in hours:
                figures.add(hours[hour])
        found.append((start, figures))
    return found


def _hours(
    store: StatsStore, developer_id: str, webhook_id: str, first: int, last: int, now: int
) -> dict[int, Figures]:
    """The hours' figures: kept hours as they are, the others added up from their minutes (and,
    once settled, kept for the next reader)."""
    hours = dict(store.hours(developer_id, webhook_id, first, last))
    missing = [hour for hour in range(first, last + 1) if hour not in hours]
    if not missing:
        return hours
    summed = {hour: Figures() for hour in missing}
    for minute, figures in store.minutes(
        developer_id, webhook_id, missing[0] * HOUR_MINUTES, (last + 1) * HOUR_MINUTES - 1
    ):
        hour = minute // HOUR_MINUTES
        if hour in summed:
            summed[hour].add(figures)
    hours.update(summed)
    config = settings()
    keep = [
        (hour, summed[hour], config.expires_at((hour + 1) * HOUR_MS))
        for hour in missing
        if (hour + 1) * HOUR_MS + SETTLE_MS <= now and config.expires_at((hour + 1) * HOUR_MS) > now // 1000
    ][:KEEP_HOURS_PER_READ]
    if keep:
        store.keep_hours(developer_id, webhook_id, keep)
    return hours


def percentiles(histogram: dict[int, int]) -> dict[str, int] | None:
    if not histogram:
        return None
    return {name: value for name, q in QUANTILES if (value := percentile(histogram, q)) is not None}


def shape(figures: Figures) -> dict[str, Any]:
    """Figures as the API answers them."""
    counts = {name: figures.counts.get(name, 0) for name in ("attempts", *STATUSES, "firstAttemptSucceeded")}
    attempts = counts["attempts"]
    return {
        **counts,
        "successRate": round(counts["succeeded"] / attempts, 4) if attempts else None,
        "receiverLatencyMs": percentiles(figures.receiver),
        "eventToDeliveredMs": percentiles(figures.delivered),
    }


def figures_answer(
    developer_id: str, webhook_id: str, window: Window, store: StatsStore | None = None
) -> dict[str, Any]:
    buckets = bucket_figures(developer_id, webhook_id, window, store)
    totals = Figures()
    for _, figures in buckets:
        totals.add(figures)
    return {
        "webhookId": webhook_id,
        "since": iso_ms(window.since_ms),
        "until": iso_ms(window.until_ms),
        "granularity": window.granularity,
        "totals": shape(totals),
        "buckets": [{"start": iso_ms(start), **shape(figures)} for start, figures in buckets],
    }


def failure_share(
    developer_id: str, webhook_id: str, since_ms: int, until_ms: int, store: StatsStore | None = None
) -> float | None:
    """The share of attempts in [since, until) (minutes, at most 6 hours) that did not succeed;
    None when there were none. What "failing over the last N minutes" reads."""
    window = Window(since_ms, until_ms, "minute")
    if until_ms - since_ms > MAX_WINDOW_MS["minute"]:
        raise ValueError("failure_share reads at most 6 hours of minutes")
    totals = Figures()
    for _, figures in bucket_figures(developer_id, webhook_id, window, store):
        totals.add(figures)
    attempts = totals.counts.get("attempts", 0)
    return (attempts - totals.counts.get("succeeded", 0)) / attempts if attempts else None
