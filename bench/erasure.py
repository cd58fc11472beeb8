"""Erasure of a subject, on in-process moto: what the subject index costs per million events that
name a subject, and how long `eventsapi erase` takes for a subject with N stored items (half of
them payloads stored once, half delivery records with a receiver's answer: N/2 events of one
developer, one webhook each), with the DynamoDB units it spends, priced with bench/regions.py.

.venv/bin/python -m bench.erasure 100000
"""

import json
import math
import sys
import time
from typing import Any

import boto3

from bench import regions
from eventsapi.local.inprocess import in_process_stack

PRICES = regions.prices()
MILLION = 1_000_000
DEVELOPER = "bench_dev"
WEBHOOK = "6b1700000000000000000001"
SUBJECT = "user:42"
EXCERPT = "ok " * 60  # a receiver's answer, 180 B
PAYLOAD = json.dumps({"event": "tool.executed", "timestamp": "2026-12-07T00:00:00.000Z", "data": {"x": "y" * 900}})


def _wru(item: dict[str, Any]) -> int:
    return max(1, math.ceil(len(json.dumps(item, default=str).encode()) / 1024))


def _rru(item: dict[str, Any]) -> int:  # strongly consistent: 1 unit per 4 KB
    return max(1, math.ceil(len(json.dumps(item, default=str).encode()) / 4096))


def seed(tables: dict[str, Any], events: int, at_ms: int) -> dict[str, dict[str, Any]]:
    """`events` events of DEVELOPER naming SUBJECT, as the fan-out and the worker leave them; one of each kind."""
    from events_core.clock import iso_ms
    from events_core.records.message import delivery_id
    from events_core.records.payloads import RETRY_SPAN_SECONDS
    from events_core.records.subjects import Entry, subject_hash

    hashed, expires = subject_hash(SUBJECT), at_ms // 1000 + 30 * 86400
    samples: dict[str, dict[str, Any]] = {}
    with (
        tables["deliveries"].batch_writer() as deliveries,
        tables["payloads"].batch_writer() as payloads,
    ):
        for i in range(events):
            event_id, event_ms = f"ev-{i:08d}", at_ms - i
            entry = Entry(DEVELOPER, hashed, event_id, event_ms, (WEBHOOK,), False, expires + RETRY_SPAN_SECONDS)
            payload = {"developerId": DEVELOPER, "eventId": event_id, "payload": PAYLOAD, "expiresAt": expires}
            record = {
                "webhookKey": f"{DEVELOPER}#{WEBHOOK}",
                "deliveryId": delivery_id(event_id, WEBHOOK, event_ms),
                "developerId": DEVELOPER,
                "webhookId": WEBHOOK,
                "eventId": event_id,
                "event": "tool.executed",
                "status": "succeeded",
                "createdAt": iso_ms(event_ms),
                "attempt": 1,
                "attempts": [
                    {"attempt": 1, "attemptedAt": iso_ms(event_ms), "latencyMs": 12, "excerpt": EXCERPT, "status": 200}
                ],
                "payloadRef": event_id,
                "expiresAt": expires,
                "version": 2,
            }
            deliveries.put_item(Item=entry.to_item())
            deliveries.put_item(Item=record)
            payloads.put_item(Item=payload)
            samples = samples or {"entry": entry.to_item(), "payload": payload, "record": record}
    return samples


def measure(items: int) -> dict[str, float]:
    events = items // 2
    with in_process_stack({}) as stack:
        from events_core.clock import now_ms
        from events_core.config import Settings
        from eventsapi.admin.erase import Erasure
        from eventsapi.admin.target import Target

        session = boto3.Session()
        target = Target.of_template(stack.template, session)
        dynamodb = session.resource("dynamodb")
        tables = {
            "deliveries": dynamodb.Table(stack.physical("DeliveriesTable")),
            "payloads": dynamodb.Table(stack.physical("PayloadsTable")),
        }
        started = time.perf_counter()
        samples = seed(tables, events, now_ms())
        seeded = time.perf_counter() - started
        erasure = Erasure(target, Settings.from_env())
        started, cpu = time.perf_counter(), time.process_time()
        receipt = erasure.erase(SUBJECT, [DEVELOPER])
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
        started = time.perf_counter()
        again = erasure.erase(SUBJECT, [DEVELOPER])
        second_seconds = time.perf_counter() - started
        assert receipt["removed"]["PayloadsTable"]["payloads"] == events, receipt["removed"]
        assert again["removed"] == {}, again["removed"]
    entry, payload, record = samples["entry"], samples["payload"], samples["record"]
    # One erased event: its entry read (Query pages of 1 MB) and rewritten, its payload read by key
    # and deleted, its record read and written back.
    rru = len(json.dumps(entry).encode()) / 4096 + _rru({"eventId": "x"}) + _rru(record)
    wru = _wru(entry) + _wru(payload) + _wru(record)
    per_event = rru * PRICES["dynamodb_rru"] + wru * PRICES["dynamodb_wru"]
    index_usd = _wru(entry) * PRICES["dynamodb_wru"] * MILLION
    stored_usd = (_wru(payload) * PRICES["dynamodb_wru"] + _rru(payload) * PRICES["dynamodb_rru"]) * MILLION
    return {
        "items": events * 2,
        "events": events,
        "seed_seconds": seeded,
        "erase_seconds": seconds,
        "erase_cpu_seconds": cpu_seconds,  # this process's (moto's included): the wall time less a busy machine's
        "second_run_seconds": second_seconds,
        "erase_usd": per_event * events,
        "index_entry_bytes": len(json.dumps(entry).encode()),
        "index_usd_per_million": index_usd,
        "by_reference_usd_per_million": stored_usd,
    }


def rows(results: dict[str, float]) -> list[tuple[str, str]]:
    items, events = int(results["items"]), int(results["events"])
    return [
        (
            "subject index (opt-in: events naming a subject)",
            f"${results['index_usd_per_million']:.3f} per million events per subject"
            f" + ${results['by_reference_usd_per_million']:.3f} storing a small payload by reference",
        ),
        (
            f"erase a subject, {items:,} items ({events:,} events; in-process moto)",
            f"{results['erase_seconds']:.1f} s ({results.get('erase_cpu_seconds', 0):.1f} s CPU),"
            f" ${results['erase_usd']:.3f};"
            f" a second run {results['second_run_seconds']:.1f} s",
        ),
    ]


def cost_section(results: dict[str, float]) -> str:
    """docs/cost.md's section for subjects and erasure (opt-in: producers name subjects)."""
    index, stored = results["index_usd_per_million"], results["by_reference_usd_per_million"]
    events = int(results["events"])
    per_million_events = results["erase_usd"] / max(1, events) * MILLION
    calls = 2 * math.ceil(events / 100) + 3 * math.ceil(events / 25)  # BatchGetItem of 100, BatchWriteItem of 25
    cpu = (
        f" ({results['erase_cpu_seconds']:.1f} s of it this process's CPU, moto's work included: the rest was"
        " waiting for a shared machine)"
        if results.get("erase_cpu_seconds")
        else " (wall time on a shared machine)"
    )
    return f"""
## Subjects and erasure (opt-in: a producer names the people an event concerns)

An event without `detail.subjects` costs nothing here: no index entry, no extra write. One that
names subjects costs, per million such events (`bench/erasure.py`):

| item | counted as | USD per million events |
|---|---|---:|
| the subject index | one PutItem per subject ({int(results["index_entry_bytes"])} B: 1 WRU) | {index:.3f} per subject |
| who used the subject | one PutItem per (developer, subject) per fan-out environment per day | ~0 |
| its payload stored by reference, even under 4 KB | PutItem (1 WRU a KB) + GetItem per attempt (1 RRU) | {stored:.3f} |
| **one subject, one webhook, one attempt** | | **{index + stored:.3f}** |

The record and the delivery message no longer carry a small payload inline, which makes both
smaller; that saving is not counted.

An erasure (`eventsapi erase`, an operator's rare action) reads each event's index entry (Query
pages), its payload by key and its records (BatchGetItem), deletes the payload and writes the
records back and the entry marked (BatchWriteItem): about ${per_million_events:.2f} per million
erased events. For {events:,} events ({int(results["items"]):,} items) that is {results["erase_usd"]:.3f} USD and
{calls:,} batch calls, made one after another: a few minutes against DynamoDB at 10-20 ms a call.
On in-process moto it took {results["erase_seconds"]:.1f} s{cpu}; a second run, which finds
nothing, {results["second_run_seconds"]:.1f} s. Draining the dead-letter and fault queues costs 3 SQS
requests per 10 messages held there.
"""


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    measured = measure(count)
    print(json.dumps({"results": measured, "rows": rows(measured)}))
