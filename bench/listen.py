"""`eventsapi listen` on the local stack: put-events → forwarded to the developer's local receiver
(p50, p99 over N events), through the fan-out, the session's table, the long poll and the CLI's
forward. The cost of a listening hour is bench/cost_model.py's `listen_lines`."""

import contextlib
import json
import statistics
import sys
import threading
import time

import boto3

from bench.local_e2e import PARAMETERS, SETTLE_SECONDS, SOURCE, percentile, wait_for
from events_core.api_keys import ApiKeyStore
from events_core.delivery.queues import event_entry
from eventsapi.harness.receiver import Receiver
from eventsapi.listen import Api, Listener
from eventsapi.local.runtime import LocalRuntime
from eventsapi.local.wiring import REGION


def measure(events: int = 100) -> dict[str, float]:
    with Receiver() as receiver:
        stack = LocalRuntime(api_port=0, moto_port=0, parameters=PARAMETERS).start()
        try:
            key = ApiKeyStore().create("bench", ("read", "write")).key
            listener = Listener(Api(stack.api_url, key), receiver.url("/forwarded?x=1"), ["tool.executed"], {})
            listener.open()
            threading.Thread(target=listener.run, daemon=True).start()
            bus = stack.template.physical["PlatformEventBus"].ref
            events_client = boto3.client("events", region_name=REGION)

            def put(n: int) -> None:
                events_client.put_events(Entries=[event_entry(bus, SOURCE, "tool.executed", "bench", {"n": n})])

            # The fan-out keeps a developer's sessions FanoutCacheSeconds: wait until it sees this one.
            deadline = time.monotonic() + 30
            while not receiver.received and time.monotonic() < deadline:
                put(-1)
                time.sleep(1)
            wait_for(receiver, 1)
            time.sleep(2)
            before = len(receiver.received)
            latencies = []
            for n in range(events):
                started = time.perf_counter()
                put(n)
                wait_for(receiver, before + n + 1)
                latencies.append(time.perf_counter() - started)
                time.sleep(SETTLE_SECONDS)
            listener.stop.set()
        finally:
            stack.stop()
    return {"listen_p50": statistics.median(latencies), "listen_p99": percentile(latencies, 0.99), "events": events}


def rows(results: dict[str, float]) -> list[tuple[str, str]]:
    return [
        ("listen: put-events → forwarded to localhost, p50", f"{results['listen_p50'] * 1000:.1f} ms"),
        (
            f"listen: put-events → forwarded to localhost, p99 ({results['events']:.0f} events)",
            f"{results['listen_p99'] * 1000:.1f} ms",
        ),
    ]


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with contextlib.redirect_stdout(sys.stderr):  # the functions' log and metric lines are not the answer
        measured = measure(count)
    print(json.dumps({"rows": rows(measured), "results": measured}))
