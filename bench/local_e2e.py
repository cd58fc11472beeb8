"""The local stack end to end: put-events → webhook received (p50, p99 over N events), API request
p50, both beside what the emulator alone takes; then sustained deliveries per second."""

import contextlib
import json
import statistics
import sys
import threading
import time

import boto3
import requests

from bench.common import template
from events_core.api_keys import ApiKeyStore
from events_core.config import Settings
from events_core.delivery.queues import event_entry
from eventsapi.harness.receiver import Receiver
from eventsapi.local.runtime import LocalRuntime
from eventsapi.local.wiring import REGION

# The per-developer rate limit would answer most of the timed calls with 429 (and its counter write is
# timed with the call, as on AWS); the fan-out cache is the template's (production's), not `make run`'s 0.
PARAMETERS = {
    "LogLevel": "ERROR",
    "DeveloperRateLimit": "10000",
    "DeveloperBurstLimit": "10000",
    "FanoutCacheSeconds": str(template().parameters["FanoutCacheSeconds"]),
}
# Latency at low load: each event is put once the previous one's bookkeeping (the delivery record,
# the queue deletes) is over, so it does not queue behind it in the emulator.
SETTLE_SECONDS = 0.05
SOURCE = Settings().event_source  # the platform's, as the template sets it


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def wait_for(receiver: Receiver, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while len(receiver.received) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(receiver.received)} of {count} deliveries after {timeout} s")
        time.sleep(0.001)


def measure(events: int = 200, sustain_seconds: float = 30.0) -> dict[str, float]:
    results: dict[str, float] = {}
    with Receiver() as receiver:
        stack = LocalRuntime(api_port=0, moto_port=0, parameters=PARAMETERS).start()
        try:
            key = ApiKeyStore().create("bench", ("read", "write")).key
            http = requests.Session()
            http.headers["X-API-Key"] = key
            for n in range(5):
                answer = http.post(
                    f"{stack.api_url}/v1/events/webhooks",
                    json={
                        "event": "tool.executed",
                        "url": receiver.url(f"/hook{n}"),
                        "secret": "s",
                        "filter": {"sustain": True} if n else {},
                    },
                )
                answer.raise_for_status()
            bus = stack.template.physical["PlatformEventBus"].ref
            events_client = boto3.client("events", region_name=REGION)
            dynamodb = boto3.client("dynamodb", region_name=REGION)

            def put(data: dict) -> float:
                started = time.perf_counter()
                events_client.put_events(Entries=[event_entry(bus, SOURCE, "tool.executed", "bench", data)])
                return time.perf_counter() - started

            latencies, put_only = [], []
            for n in range(events):
                started = time.perf_counter()
                put_only.append(put({"n": n}))
                wait_for(receiver, n + 1)
                latencies.append(time.perf_counter() - started)
                time.sleep(SETTLE_SECONDS)
            results["e2e_p50"] = statistics.median(latencies)
            results["e2e_p99"] = percentile(latencies, 0.99)
            results["put_p50"] = statistics.median(put_only)

            api, raw = [], []
            table = stack.template.physical["WebhooksTable"].ref
            for _ in range(200):
                started = time.perf_counter()
                http.get(f"{stack.api_url}/v1/events/types").raise_for_status()
                api.append(time.perf_counter() - started)
                started = time.perf_counter()
                dynamodb.get_item(TableName=table, Key={"developerId": {"S": "bench"}, "webhookId": {"S": "x"}})
                raw.append(time.perf_counter() - started)
            results["api_p50"] = statistics.median(api)
            results["getitem_p50"] = statistics.median(raw)

            # Sustained: each event fans out to 5 webhooks; keep a bounded backlog for the window.
            before = len(receiver.received)
            published = 0
            stop = threading.Event()

            def publish() -> None:
                nonlocal published
                while not stop.is_set():
                    if published * 5 - (len(receiver.received) - before) > 500:
                        time.sleep(0.01)
                        continue
                    events_client.put_events(
                        Entries=[
                            event_entry(bus, SOURCE, "tool.executed", "bench", {"sustain": True, "n": published + i})
                            for i in range(10)
                        ]
                    )
                    published += 10

            publisher = threading.Thread(target=publish, daemon=True)
            publisher.start()
            time.sleep(2)  # warm up
            start_count, started = len(receiver.received), time.perf_counter()
            time.sleep(sustain_seconds)
            delivered = len(receiver.received) - start_count
            results["throughput"] = delivered / (time.perf_counter() - started)
            stop.set()
            publisher.join()
            results["sustain_seconds"] = sustain_seconds
        finally:
            stack.stop()
    return results


TARGET_BEYOND_PUT_MS = 20


def rows(results: dict[str, float]) -> list[tuple[str, str]]:
    beyond = (results["e2e_p50"] - results["put_p50"]) * 1000
    verdict = "ok" if beyond <= TARGET_BEYOND_PUT_MS else "OVER"
    return [
        ("local e2e: put-events → webhook received, p50", f"{results['e2e_p50'] * 1000:.1f} ms"),
        (
            "local e2e: beyond the emulator's PutEvents, p50",
            f"{beyond:.1f} ms  (target ≤ {TARGET_BEYOND_PUT_MS} ms: {verdict})",
        ),
        ("local e2e: put-events → webhook received, p99", f"{results['e2e_p99'] * 1000:.1f} ms"),
        ("local e2e: emulator alone, PutEvents call p50", f"{results['put_p50'] * 1000:.1f} ms"),
        ("local API: GET /v1/events/types p50 (gateway+authorizer+handler)", f"{results['api_p50'] * 1000:.1f} ms"),
        ("local API: emulator alone, DynamoDB GetItem p50", f"{results['getitem_p50'] * 1000:.1f} ms"),
        (
            f"local throughput: deliveries/s sustained over {results['sustain_seconds']:.0f} s",
            f"{results['throughput']:.0f}",
        ),
    ]


if __name__ == "__main__":
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
    with contextlib.redirect_stdout(sys.stderr):  # the functions' log and metric lines are not the answer
        measured = measure(events, seconds)
    print(json.dumps({"rows": rows(measured), "results": measured}))
