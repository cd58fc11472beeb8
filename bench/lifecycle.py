"""A developer's data over its life, on in-process moto: the retention sweep's cost per million
stored deliveries (its first pass, removing every settled payload, and a pass with nothing left to
change) and an expunge job's time for N deliveries. DynamoDB units are counted from the calls and
the bytes read, priced with bench/regions.py; Lambda at the sweep function's memory.

.venv/bin/python -m bench.lifecycle 10000
"""

import json
import math
import sys
import time
from typing import Any

import boto3

from bench import regions
from bench.common import template
from eventsapi.local.inprocess import in_process_stack

PRICES = regions.prices()
MILLION = 1_000_000
DEVELOPER = "bench_dev"
WEBHOOK = "6b1700000000000000000001"
EXCERPT = "ok " * 60  # a receiver's answer, 180 B
PAYLOAD = json.dumps({"event": "tool.executed", "timestamp": "2026-12-07T00:00:00.000Z", "data": {"x": "y" * 400}})


def _memory_gb(logical_id: str) -> float:
    return template().function(logical_id).memory_size / 1024  # as the transform sets it, Globals merged


def seed(table: Any, n: int, at_ms: int, first: int = 0) -> None:
    from events_core.clock import iso_ms
    from events_core.records.message import delivery_id_floor

    with table.batch_writer() as batch:
        for i in range(first, first + n):
            delivery_id = f"{delivery_id_floor(at_ms - i)}{i:021x}"[:36]
            batch.put_item(
                Item={
                    "webhookKey": f"{DEVELOPER}#{WEBHOOK}",
                    "deliveryId": delivery_id,
                    "developerId": DEVELOPER,
                    "webhookId": WEBHOOK,
                    "eventId": f"ev-{i}",
                    "event": "tool.executed",
                    "status": "succeeded",
                    "createdAt": iso_ms(at_ms - i),
                    "attempt": 1,
                    "attempts": [
                        {
                            "attempt": 1,
                            "attemptedAt": iso_ms(at_ms - i),
                            "latencyMs": 12,
                            "excerpt": EXCERPT,
                            "trigger": "first",
                            "status": 200,
                        }
                    ],
                    "payload": PAYLOAD,
                    "expiresAt": at_ms // 1000 + 30 * 86400,
                    "version": 2,
                }
            )


def _pass_cost(read_bytes: int, writes: int, queries: int, seconds: float, n: int) -> float:
    # Eventually consistent Query: 0.5 RRU per 4 KB read (pages of 1 MB), at least one unit per call.
    rru = max(queries, math.ceil(read_bytes / 4096)) * 0.5
    usd = rru * PRICES["dynamodb_rru"] + writes * PRICES["dynamodb_wru"]
    usd += seconds * _memory_gb("SweepRetentionFunction") * PRICES["lambda_gb_second_arm"]
    return usd / n * MILLION


def measure(n: int) -> dict[str, float]:
    with in_process_stack({}) as stack:
        from events_core.clock import now_ms
        from events_core.config import settings
        from events_core.lifecycle import expunge_jobs, sweep
        from events_core.lifecycle.retention import retention_of
        from events_core.lifecycle.settings import SettingsStore

        dynamodb = boto3.resource("dynamodb")
        deliveries = dynamodb.Table(stack.physical("DeliveriesTable"))
        dynamodb.Table(stack.physical("WebhooksTable")).put_item(Item={"developerId": DEVELOPER, "webhookId": WEBHOOK})
        at = now_ms()
        seed(deliveries, n, at)
        SettingsStore().replace(DEVELOPER, {"retention": {"payloadDays": 0, "responseDays": 0}}, 0)
        kept = retention_of(DEVELOPER)

        figures: dict[str, float] = {"deliveries": n}
        for label in ("first", "steady"):
            started = time.perf_counter()
            done = sweep.sweep_developer(DEVELOPER, kept, sweep.Tables(), settings(), now_ms())
            seconds = time.perf_counter() - started
            writes = done.writes
            pages = max(1, math.ceil(done.read_bytes / (1024 * 1024)))  # a Query page holds 1 MB
            figures[f"sweep_{label}_usd_per_million"] = _pass_cost(done.read_bytes, writes, pages, seconds, n)
            figures[f"sweep_{label}_seconds"] = seconds
            figures[f"sweep_{label}_writes"] = writes

        seed(deliveries, n, at, first=n)  # n more, with payloads and answers, for the expunge
        job = expunge_jobs.start(DEVELOPER, {"since": "2020-01-01T00:00:00Z"})
        started = time.perf_counter()
        outcome = expunge_jobs.run({"developerId": DEVELOPER, "jobId": job["jobId"]}, seconds_left=lambda: 900.0)
        figures["expunge_seconds"] = time.perf_counter() - started
        figures["expunge_removed"] = expunge_jobs.get(DEVELOPER, job["jobId"])["removed"]
        assert outcome == "done"
    return figures


def rows(results: dict[str, float]) -> list[tuple[str, str]]:
    n = int(results["deliveries"])
    return [
        (
            "retention sweep, first pass (every settled payload and answer removed)",
            f"${results['sweep_first_usd_per_million']:.2f} per million stored deliveries",
        ),
        (
            "retention sweep, a pass with nothing to change",
            f"${results['sweep_steady_usd_per_million']:.2f} per million stored deliveries",
        ),
        (
            f"expunge job, {n:,} deliveries (in-process moto)",
            f"{results['expunge_seconds']:.1f} s, {int(results['expunge_removed']):,} removed",
        ),
    ]


FIRST = "the Queries' bytes read (0.5 RRU per 4 KB) + 1 WRU per record rewritten or deleted + Lambda (local time)"


def cost_section(results: dict[str, float]) -> str:
    """docs/cost.md's section for the retention sweep and expunge (opt-in: a developer chooses)."""
    return f"""
## Retention and expunge (opt-in: a developer's settings and requests)

A developer who never chooses a retention costs nothing here: the daily sweep reads a sparse index
of those who did (one Query per shard, 16 a day). For those who did, a pass reads every stored
delivery of theirs (eventually consistent Queries of their partitions) and rewrites what its
retention no longer keeps; reads apply the retention at once, so the sweep runs daily, not hourly.
Measured by `bench/lifecycle.py` over {int(results["deliveries"]):,} stored deliveries of about 1 KB:

| item | counted as | USD per million stored deliveries |
|---|---|---:|
| sweep, first pass after a change | {FIRST} | {results["sweep_first_usd_per_million"]:.2f} |
| sweep, a pass with nothing to change | the Queries only + Lambda | {results["sweep_steady_usd_per_million"]:.2f} |
| sweep, a month of daily passes | 30 × the line above | {30 * results["sweep_steady_usd_per_million"]:.2f} |

An expunge job costs what the sweep's first pass costs for the deliveries in its window (one Query
read, one conditional UpdateItem each, a DeleteItem per payload stored once) plus an SQS message
per step: {results["expunge_seconds"]:.1f} s for {int(results["expunge_removed"]):,} deliveries here
(one step, in-process moto; DynamoDB answers single writes in a few ms, so a deployed step does
about 10,000 in under a minute and hands on before its 300 s timeout).

On every developer's path: the history reads (list, get, redeliver, recover) read the caller's
settings to apply their retention (one eventually consistent GetItem, 0.5 RRU: +$0.06 per million
such calls); a webhook's delete and a listen session's open write one ledger item, a poll renews it
at most once a minute (1 WRU each).
"""


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    measured = measure(count)
    print(json.dumps({"results": measured, "rows": rows(measured)}))
