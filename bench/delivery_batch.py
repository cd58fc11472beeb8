"""The delivery function on a batch of 10 posts to a receiver that answers after 200 ms, against a
single post and against the same 10 posts one after another; the fan-out on a batch of 10 events;
and what one delivery costs in AWS calls (counted, by operation). Medians, side by side in one run.
Then the KMS requests a day of posts makes at a fixed spread of traffic (`bench.kms_spread`: every
KMS call the real secret code makes, per 1,000 posts), which the cost model prices.

The functions, the emulator (in-process moto) and the receiver share this interpreter, so the
emulator's work for each DynamoDB call (about 1-3 ms of CPU) is serialised by the GIL: of what a
batch adds over a single post, most is that. On AWS the same calls are concurrent network calls.

    .venv/bin/python -m bench.delivery_batch [REPEATS]    # 7 by default; each repeat waits on 12 slow answers
"""

import contextlib
import io
import json
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from typing import Any

import boto3

from bench import kms_spread
from bench.common import READS, WRITES, in_process_stack, sqs_event
from events_core import aws
from events_core.api_keys import ApiKeyStore
from events_core.catalogue import find
from events_core.clock import iso_ms, now_ms
from events_core.delivery.envelope import payload_text
from events_core.records.message import DeliveryMessage, delivery_id
from events_core.webhooks import service
from eventsapi.harness.receiver import Receiver

RECEIVER_DELAY = 0.2
BATCH = 10
TARGET = 1.15
# No fan-out cache here: the fan-out row is the uncached worst case (bench.scaling shows the cache).
LOCAL = {"AllowHttpUrls": "true", "AllowedPrivateNetworks": "127.0.0.0/8", "FanoutCacheSeconds": "0"}


class LogBytes(io.TextIOBase):
    """Stands in for stdout, where the functions write their log and metric lines (CloudWatch Logs
    bills them by the byte): counts and drops them."""

    def __init__(self) -> None:
        self.bytes = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        return len(text)


def _health_figures(params: dict) -> bool:
    """An aggregate's ADD (events_core.stats), written once a minute per environment, not per batch."""
    key = (params.get("Key") or {}).get("webhookKey")
    text = key.get("S", "") if isinstance(key, dict) else key
    return isinstance(text, str) and text.endswith("#stats")


class CallCounter:
    """AWS operations made through this process's default boto3 session, by service and name."""

    def __init__(self) -> None:
        self.calls: Counter = Counter()
        self.items: Counter = Counter()
        self.counting = False
        # A client copies the session's handlers when it is made: register first, then let the
        # functions build their clients afresh.
        boto3.DEFAULT_SESSION.events.register("before-parameter-build", self._seen)  # type: ignore[union-attr]
        aws.reset()

    def _seen(self, model: Any, params: dict, **_: Any) -> None:
        if not self.counting:
            return
        name = f"{model.service_model.service_name}:{model.name}"
        if _health_figures(params):
            name = "dynamodb:HealthFigures"  # priced on its own line from bench/stats.py (kept per environment)
        self.calls[name] += 1
        if model.name == "BatchWriteItem":
            self.items[name] += sum(len(v) for v in params.get("RequestItems", {}).values())
        elif model.name == "BatchGetItem":
            self.items[name] += sum(len(v.get("Keys", [])) for v in params.get("RequestItems", {}).values())
        else:
            self.items[name] += 1

    def reset(self) -> None:
        self.calls.clear()
        self.items.clear()


def measure(repeats: int = 7) -> dict[str, Any]:
    logs = LogBytes()
    with Receiver() as receiver, contextlib.redirect_stdout(logs), in_process_stack(LOCAL) as stack:
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"  # their lines are billed too
        return _measure(stack, receiver, repeats, logs)


def _measure(stack: Any, receiver: Receiver, repeats: int, logs: LogBytes) -> dict[str, Any]:
    receiver.behave("/slow", delay=RECEIVER_DELAY)
    ApiKeyStore().create("bench", ("read", "write"))
    hooks = [
        service.register("bench", {"event": "tool.executed", "url": receiver.url("/slow"), "secret": "s"})
        for _ in range(BATCH)
    ]
    deliver, fanout = stack.functions["DeliverFunction"], stack.functions["FanoutFunction"]
    queue_arn = stack.template.physical["DeliveryQueue"].attributes["Arn"]

    def bodies(count: int) -> list[str]:
        at = now_ms()
        event_id = str(uuid.uuid4())  # fresh ids: the duplicate guard must not skip the posts
        return [
            DeliveryMessage(
                delivery_id=delivery_id(event_id, hook.webhook_id, at),
                webhook_id=hook.webhook_id,
                developer_id="bench",
                event_id=event_id,
                event="tool.executed",
                timestamp=iso_ms(at),
                payload=payload_text("tool.executed", iso_ms(at), json.dumps({"n": n})),
            ).to_json()
            for n, hook in enumerate(hooks[:count])
        ]

    def run(records: list[str]) -> float:
        started = time.perf_counter()
        answer = deliver.invoke(sqs_event(records, queue_arn))
        took = time.perf_counter() - started
        assert answer == {"batchItemFailures": []}, answer
        return took

    bus_event = {
        "source": "cn.invoratec.platform",
        "detail-type": "tool.failed",
        "time": "2026-04-12T08:00:00Z",
        # Valid data (the catalogue's example): the default SchemaEnforcement checks it, silently.
        "detail": {"developerId": "bench", "data": find("tool.failed").example},  # type: ignore[union-attr]
    }

    def run_fanout() -> float:
        records = [json.dumps({**bus_event, "id": str(uuid.uuid4())}) for _ in range(BATCH)]
        started = time.perf_counter()
        assert fanout.invoke(sqs_event(records, queue_arn)) == {"batchItemFailures": []}
        return time.perf_counter() - started

    counter = CallCounter()
    run(bodies(1))  # warm: module load, pools, the secrets' decryption
    run(bodies(BATCH))
    run_fanout()
    single, batch, sequential, fanout_batch = [], [], [], []
    for _ in range(repeats):  # interleaved, so a busy moment hits every figure alike
        single.append(run(bodies(1)))
        batch.append(run(bodies(BATCH)))
        sequential.append(sum(run([body]) for body in bodies(BATCH)))
        fanout_batch.append(run_fanout())
    counter.counting = True
    logged = logs.bytes
    run(bodies(BATCH))
    log_bytes_per_delivery = (logs.bytes - logged) / BATCH
    per_delivery = {name: count / BATCH for name, count in sorted(counter.items.items())}
    counter.reset()
    logged = logs.bytes
    run_fanout()
    log_bytes_per_event = (logs.bytes - logged) / BATCH
    per_event = {name: count / BATCH for name, count in sorted(counter.items.items())}
    expected_posts = 1 + BATCH + repeats * (1 + 2 * BATCH) + BATCH
    made = len(receiver.at("/slow"))
    assert made == expected_posts, f"every post must have been made: {made} of {expected_posts}"
    return {
        "single": statistics.median(single),
        "batch": statistics.median(batch),
        "ratio": statistics.median(b / s for b, s in zip(batch, single, strict=True)),
        "sequential": statistics.median(sequential),
        "fanout_batch": statistics.median(fanout_batch),
        "calls_per_delivery": per_delivery,
        "calls_per_event": per_event,
        "log_bytes_per_delivery": log_bytes_per_delivery,
        "log_bytes_per_event": log_bytes_per_event,
    }


def _named(calls: dict[str, float], kinds: set[str]) -> str:
    found = [f"{name.split(':')[1]} {count:g}" for name, count in calls.items() if name.split(":")[1] in kinds]
    return ", ".join(found) or "none"


def rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    verdict = "ok" if results["ratio"] <= TARGET else "OVER"
    delivery = results["calls_per_delivery"]
    return [
        ("delivery: 1 post, 200 ms receiver (median)", f"{results['single'] * 1000:.0f} ms"),
        (f"delivery: batch of {BATCH}, concurrent (median)", f"{results['batch'] * 1000:.0f} ms"),
        ("delivery: batch / single post", f"{results['ratio']:.2f}x  (target ≤ {TARGET}x: {verdict})"),
        (f"delivery: {BATCH} posts one after another (median)", f"{results['sequential'] * 1000:.0f} ms"),
        (f"fan-out: batch of {BATCH} events (median)", f"{results['fanout_batch'] * 1000:.0f} ms"),
        ("per delivery: DynamoDB writes (items)", _named(delivery, WRITES)),
        ("per delivery: DynamoDB reads (items)", _named(delivery, READS)),
        (
            "per delivery: other calls",
            ", ".join(f"{name} {count:g}" for name, count in delivery.items() if not name.startswith("dynamodb:"))
            or "none",
        ),
        (
            "per event: fan-out calls",
            ", ".join(f"{name} {count:g}" for name, count in results["calls_per_event"].items()) or "none",
        ),
        (
            "log bytes at INFO, per delivery / per event fanned out",
            f"{results['log_bytes_per_delivery']:.0f} B / {results['log_bytes_per_event']:.0f} B",
        ),
        *kms_spread.rows(results["kms"]),
    ]


if __name__ == "__main__":
    measured = measure(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
    measured["kms"] = kms_spread.measure()
    print(json.dumps({"rows": rows(measured), "results": measured}))
