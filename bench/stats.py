"""Health figures (events_core.stats): items one stats page reads at 100 and at 1,000,000
deliveries (synthetic aggregates on in-process moto), and what writing the aggregates costs per
million deliveries (the delivery's recorder driven by a simulated clock: full batches of 10 posts,
each to its own webhook, as bench/delivery_batch.py sends them, one batch every BATCH_SECONDS).

.venv/bin/python -m bench.stats
"""

import json
import random
from typing import Any

import boto3

from bench import regions
from eventsapi.local.inprocess import in_process_stack

PRICES = regions.prices()
MILLION = 1_000_000
DEVELOPER = "bench_dev"
WEBHOOK = "6b1700000000000000000002"
MINUTE = 60_000
BATCH_SECONDS = 0.268  # one delivery batch of 10 under load (docs/cost.md, "Lambda delivery compute")
WEBHOOKS_PER_BATCH = 10  # each post of a batch to its own webhook: the most writes a batch can make
SIMULATED_MINUTES = 30
ITEM_BYTES = 300  # an aggregate item (store.py), for its storage


class CountingTable:
    """The table, counting the items its Queries return."""

    def __init__(self, table: Any):
        self.table = table
        self.items = 0

    def query(self, **request: Any) -> dict:
        page = self.table.query(**request)
        self.items += len(page.get("Items", []))
        return page

    def __getattr__(self, name: str) -> Any:
        return getattr(self.table, name)


def _seed(table: Any, deliveries: int, minutes: int, now: int, rng: random.Random) -> None:
    """`deliveries` spread over the last `minutes`, as the delivery writes them (one item a minute)."""
    from events_core.stats.histogram import bucket_of
    from events_core.stats.store import _attributes, minute_key, stats_partition
    from events_core.stats.tally import Figures

    per_minute: dict[int, Figures] = {}
    last = now // MINUTE
    if deliveries <= minutes:
        chosen = [last - rng.randrange(minutes) for _ in range(deliveries)]
        counts = {m: chosen.count(m) for m in set(chosen)}
    else:
        counts = {last - i: deliveries // minutes + (i < deliveries % minutes) for i in range(minutes)}
    for minute, n in counts.items():
        failed = n // 25
        per_minute[minute] = Figures(
            counts={"attempts": n, "succeeded": n - failed, "retrying": failed, "firstAttemptSucceeded": n - failed},
            receiver={bucket_of(40): n // 2, bucket_of(150): n - n // 2},
            delivered={bucket_of(300): n - failed},
        )
    with table.batch_writer() as batch:
        for minute, figures in per_minute.items():
            batch.put_item(
                Item={
                    "webhookKey": stats_partition(DEVELOPER, WEBHOOK),
                    "deliveryId": minute_key(minute),
                    "developerId": DEVELOPER,
                    "expiresAt": minute * 60 + 30 * 86400,
                    "v": 1,
                    **_attributes(figures),
                }
            )


def pages(deliveries: int, minutes: int) -> dict[str, int]:
    """Items read by the default page (24 h by hour), 7 days by day and 6 hours by minute: a first
    read (which keeps the settled hours) and the next."""
    from events_core.clock import now_ms
    from events_core.stats import reader
    from events_core.stats.store import StatsStore

    with in_process_stack({}) as stack:
        table = boto3.resource("dynamodb").Table(stack.template.physical["DeliveriesTable"].ref)
        now = now_ms()
        _seed(table, deliveries, minutes, now, random.Random(7))
        counting = CountingTable(table)
        store = StatsStore(counting)
        found: dict[str, int] = {}
        for label, span, granularity in (
            ("24h_hour", 24, "hour"),
            ("7d_day", 7 * 24, "day"),
            ("6h_minute", 6, "minute"),
        ):
            window = reader.Window(now - span * 60 * MINUTE, now, granularity)
            for read in ("first", "next"):
                counting.items = 0
                reader.bucket_figures(DEVELOPER, WEBHOOK, window, store, at_ms=now)
                found[f"{label}_{read}"] = counting.items
        return found


class _Writes:
    def __init__(self) -> None:
        self.count = 0

    def add(self, key: Any, figures: Any, expires_at: int) -> None:
        self.count += 1


def writes_per_delivery(flush_seconds: int, webhooks_per_batch: int) -> float:
    """The recorder under load: full batches every BATCH_SECONDS for SIMULATED_MINUTES."""
    from types import SimpleNamespace

    from events_core.config import Settings
    from events_core.stats import recorder as recorder_module
    from events_core.stats.recorder import FULL_BATCH, HealthRecorder

    clock = [0.0]
    recorder_module.now_ms = lambda: int(clock[0] * 1000)  # type: ignore[attr-defined]
    store = _Writes()
    health = HealthRecorder(Settings(stats_flush_seconds=flush_seconds), store, clock=lambda: clock[0])  # type: ignore[arg-type]
    delivered = 0
    verdict = SimpleNamespace(outcome=SimpleNamespace(value="delivered"))
    while clock[0] < SIMULATED_MINUTES * 60:
        attempts = []
        for n in range(FULL_BATCH):
            message = SimpleNamespace(
                developer_id="d", webhook_id=f"w{n % webhooks_per_batch}", attempt=1, timestamp="2026-01-01T00:00:00Z"
            )
            attempts.append(
                SimpleNamespace(
                    incoming=SimpleNamespace(message_id=str(n)),
                    message=message,
                    result=SimpleNamespace(ok=True, latency_ms=40),
                    at_ms=int(clock[0] * 1000),
                )
            )
        health.record(attempts, {str(n): verdict for n in range(FULL_BATCH)}, [])
        delivered += FULL_BATCH
        clock[0] += BATCH_SECONDS
    return store.count / delivered


def measure() -> dict[str, Any]:
    from events_core.config import Settings

    default_flush = Settings().stats_flush_seconds
    wru = PRICES["dynamodb_wru"]
    kept = writes_per_delivery(default_flush, WEBHOOKS_PER_BATCH)
    exact_spread = writes_per_delivery(0, WEBHOOKS_PER_BATCH)
    exact_busy = writes_per_delivery(0, 1)
    storage = kept * MILLION * ITEM_BYTES / 1e9 * PRICES.get("dynamodb_storage_gb_month", 0.25)
    return {
        "pages_100": pages(100, 24 * 60),
        "pages_million": pages(MILLION, 7 * 24 * 60),
        "flush_seconds": default_flush,
        "writes_per_delivery": kept,
        "usd_per_million": kept * MILLION * wru + storage,
        "exact_spread_usd_per_million": exact_spread * MILLION * wru,
        "exact_busy_usd_per_million": exact_busy * MILLION * wru,
        "deliveries_per_write": 1 / kept if kept else 0.0,
    }


def rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    def read(figures: dict[str, int], label: str) -> str:
        return f"{figures[label + '_first']} first / {figures[label + '_next']} next"

    found = []
    for name, key in (("100 deliveries (24 h)", "pages_100"), ("1,000,000 deliveries (7 days)", "pages_million")):
        figures = results[key]
        found.append(
            (
                f"stats page items read, {name}",
                f"24 h by hour {read(figures, '24h_hour')}; 7 d by day {read(figures, '7d_day')};"
                f" 6 h by minute {read(figures, '6h_minute')}",
            )
        )
    found.append(
        (
            "cost: health aggregates per million deliveries (default path)",
            f"${results['usd_per_million']:.4f}  ({results['deliveries_per_write']:.0f} deliveries per write:"
            f" kept {results['flush_seconds']} s per environment, 10 webhooks a batch; allowance $0.03:"
            f" {'ok' if results['usd_per_million'] <= 0.03 else 'OVER'})",
        )
    )
    found.append(
        (
            "cost: health aggregates written every batch (StatsFlushSeconds 0)",
            f"${results['exact_spread_usd_per_million']:.3f} (10 webhooks a batch) /"
            f" ${results['exact_busy_usd_per_million']:.4f} (one webhook a batch) per million deliveries",
        )
    )
    return found


def cost_section(results: dict[str, Any]) -> str:
    """docs/cost.md's section for the health figures (on the default path: every delivery adds to them)."""
    small, large = results["pages_100"], results["pages_million"]

    def cells(figures: dict[str, int]) -> str:
        return " | ".join(
            f"{figures[label + '_first']:,} / {figures[label + '_next']:,}"
            for label in ("24h_hour", "7d_day", "6h_minute")
        )

    return f"""
## Health figures (GET /v1/events/webhooks/{{id}}/stats, GET /v1/events/stats)

The delivery adds each batch's counts and latency histograms up per (webhook, minute) in its
execution environment and writes one `ADD` update per pair when the minute ends, after
`StatsFlushSeconds` ({results["flush_seconds"]} s), or at once when a batch is short of full
(events_core/stats/recorder.py): **${results["usd_per_million"]:.4f} per million deliveries**
(allowance $0.03), about {results["deliveries_per_write"]:.0f} deliveries per write. The assumption
(`bench/stats.py`): an environment under load takes a full batch of 10 posts, each to its own
webhook (the most writes a batch can cause), every {BATCH_SECONDS * 1000:.0f} ms. Quiet webhooks
write more per delivery (a short batch writes at once) but add few deliveries. Written every batch
instead (`StatsFlushSeconds: 0`, exact even when an environment is retired with figures kept):
${results["exact_busy_usd_per_million"]:.4f} per million when a batch holds one webhook's posts,
${results["exact_spread_usd_per_million"]:.3f} when it holds ten webhooks' — over the allowance, so
not the default. No other line was lowered.

Items a stats page reads (first read / the next; the first adds a window's minutes up and keeps each
settled hour as one item, so later reads take one item per past hour and minutes only for the last
hour or so), measured on synthetic aggregates:

| deliveries | 24 h by hour (default) | 7 days by day | 6 hours by minute |
|---|---:|---:|---:|
| 100 over 24 h | {cells(small)} |
| 1,000,000 over 7 days | {cells(large)} |

Each item is about {ITEM_BYTES} B (1 WRU to write; a Query reads 4 KB for 0.5 RRU): the default page
of a busy webhook reads about {large["24h_hour_next"] * ITEM_BYTES / 4096 * 0.5:.0f} RRU. The overview
reads one such window per webhook on its page (10 by default, at most 25, windows at most 7 days).
"""


if __name__ == "__main__":
    measured = measure()
    print(json.dumps({"results": measured, "rows": rows(measured)}))
