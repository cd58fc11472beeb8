"""The fan-out against one hostile tenant: a batch of 10 pathological events (about 240 KB of data
that JSON escapes, 100 webhooks, half of them with filters that exhaust the matching budget), and
the same batch with one other developer's ordinary event in it. Measured: the invocation's peak
memory (tracemalloc, against the function's MemorySize), its time against the function's Timeout,
each record's time against its budget, the bytes it queued, and whether the other developer's
event was fanned out in that same invocation.

tracemalloc counts every allocation of this process, the in-process emulator's included (it
keeps the queued messages and stored payloads in memory): an upper bound on the function's own.

    .venv/bin/python -m bench.fanout_bounds
"""

import contextlib
import io
import json
import sys
import time
import tracemalloc
import uuid
from typing import Any
from unittest import mock

import boto3

from bench.common import in_process_stack, sqs_event, template
from events_core.api_keys import ApiKeyStore
from events_core.delivery import fanout as fanout_module
from events_core.webhooks import service
from eventsapi.harness.receiver import Receiver
from eventsapi.local import invoke

LOCAL = {"AllowHttpUrls": "true", "AllowedPrivateNetworks": "127.0.0.0/8", "FanoutCacheSeconds": "0"}
WEBHOOKS = 100
COSTLY = {"a": [{"numeric": [">", 5, "<", 3]}] * 99 + [2]}
HOSTILE_DATA = {"a": [0] * 5_000, "s": '"' * 115_000}  # about 240 KB once JSON escapes the quotes


def measure() -> dict[str, Any]:
    logs = io.StringIO()
    try:
        with Receiver() as receiver, contextlib.redirect_stdout(logs), in_process_stack(LOCAL) as stack:
            return _measure(stack, receiver)
    except AssertionError:
        print(
            "\n".join(line for line in logs.getvalue().splitlines() if '"level":"INFO"' not in line)[-3000:],
            file=sys.stderr,
        )
        raise


def _bus_event(developer: str, data: Any) -> str:
    return json.dumps(
        {
            "id": str(uuid.uuid4()),
            "source": "cn.invoratec.platform",
            "detail-type": "tool.executed",
            "time": "2026-04-12T08:00:00Z",
            "detail": {"developerId": developer, "data": data},
        }
    )


def _measure(stack: Any, receiver: Receiver) -> dict[str, Any]:
    ApiKeyStore().create("hostile", ("read", "write"))
    for n in range(WEBHOOKS):
        body = {"event": "tool.executed", "url": receiver.url(f"/h{n}")}
        service.register("hostile", {**body, "filter": COSTLY} if n % 2 else body)
    service.register("ordinary", {"event": "tool.executed", "url": receiver.url("/ordinary")})
    fanout = stack.functions["FanoutFunction"]
    queue_arn = stack.template.physical["EventsQueue"].attributes["Arn"]
    queued = [0]

    def count(params: dict, **_: object) -> None:
        entries = params.get("Entries") or [params]
        queued[0] += sum(len(entry.get("MessageBody", "").encode()) for entry in entries)

    events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
    events.register("provide-client-params.sqs.SendMessageBatch", count)
    events.register("provide-client-params.sqs.SendMessage", count)
    fanout.invoke(sqs_event([_bus_event("ordinary", {"warm": True})], queue_arn))  # cold start outside the figures

    hostile = [_bus_event("hostile", HOSTILE_DATA) for _ in range(10)]
    queued[0] = 0
    started = time.perf_counter()
    answer = fanout.invoke(sqs_event(hostile, queue_arn))
    took = time.perf_counter() - started
    went_back = len(answer["batchItemFailures"])  # out of their time budget on a machine this busy
    hostile_bytes = queued[0]
    # The memory run, timed by nothing: tracemalloc slows every allocation several times over,
    # and the figure wanted is the whole batch's peak, not how far a slowed invocation gets.
    with (
        mock.patch.object(invoke.LambdaContext, "get_remaining_time_in_millis", lambda self: 900_000),
        mock.patch.object(fanout_module.RecordDeadline, "check", lambda self: None),
    ):
        tracemalloc.start()
        answer = fanout.invoke(sqs_event([_bus_event("hostile", HOSTILE_DATA) for _ in range(10)], queue_arn))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert answer == {"batchItemFailures": []}, answer

    mixed = [_bus_event("hostile", HOSTILE_DATA) for _ in range(9)]
    mixed_event = sqs_event([*mixed, _bus_event("ordinary", {"toolName": "ordinary"})], queue_arn)
    ordinary_id = mixed_event["Records"][-1]["messageId"]
    started = time.perf_counter()
    answer = fanout.invoke(mixed_event)
    mixed_took = time.perf_counter() - started
    returned = {item["itemIdentifier"] for item in answer["batchItemFailures"]}
    fanout_spec = template().function("FanoutFunction")
    return {
        "event_bytes": len(hostile[0]),
        "peak_bytes": peak,
        "memory_mb": fanout_spec.memory_size,
        "timeout_s": fanout_spec.timeout,
        "batch_seconds": took,
        "record_seconds": took / 10,
        "went_back": went_back,
        "queued_bytes_per_event": hostile_bytes / max(1, 10 - went_back),
        "copy_per_webhook_bytes": len(json.dumps(HOSTILE_DATA)) * 2 * (WEBHOOKS // 2),
        "mixed_seconds": mixed_took,
        "ordinary_returned": ordinary_id in returned,
    }


def rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    peak_mib = r["peak_bytes"] / 2**20
    return [
        (
            "fan-out: peak memory, batch of 10 hostile events",
            f"{peak_mib:.0f} MiB of the function's {r['memory_mb']} MB  "
            f"({'ok' if peak_mib * 2**20 < r['memory_mb'] * 1e6 else 'OVER'}; "
            f"{r['event_bytes'] / 1000:.0f} KB events, {WEBHOOKS} webhooks, half with costly filters)",
        ),
        (
            "fan-out: that batch's time / one record's",
            f"{r['batch_seconds']:.2f} s of the {r['timeout_s']} s timeout / {r['record_seconds'] * 1000:.0f} ms "
            f"(a record's budget: 8 s; {r['went_back']} of 10 went back to the queue for want of time)",
        ),
        (
            "fan-out: bytes queued per hostile event",
            f"{r['queued_bytes_per_event'] / 1000:.0f} KB, its one dead letter included  (a copy per webhook "
            f"would be {r['copy_per_webhook_bytes'] / 1e6:.0f} MB)",
        ),
        (
            "fan-out: 9 hostile + 1 ordinary event, one batch",
            "the ordinary event went back to the queue (FAIL)"
            if r["ordinary_returned"]
            else "the ordinary event fanned out in that invocation (records run smallest first)",
        ),
    ]


def main() -> int:
    results = measure()
    for name, value in rows(results):
        print(f"{name}: {value}", file=sys.stderr)
    print(json.dumps({"results": results, "rows": rows(results)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
