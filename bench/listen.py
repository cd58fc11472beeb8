"""`eventsapi listen` on the local stack: put-events → forwarded to the developer's local receiver
(p50, p99 over N events), through the fan-out, the session's table, the long poll and the CLI's
forward. The cost of a listening hour is bench/cost_model.py's `listen_lines`. Then what one
listened event stores (in-process stack, the real fan-out): a 60 KB event into a developer's five
sessions, every item it left in the listen, deliveries and payloads tables, and how many copies of
the payload they hold (one: the payloads table's)."""

import contextlib
import json
import statistics
import sys
import threading
import time
import uuid
from typing import Any

import boto3

from bench.local_e2e import PARAMETERS, SETTLE_SECONDS, SOURCE, percentile, wait_for
from events_core.api_keys import ApiKeyStore
from events_core.delivery.queues import event_entry
from eventsapi.harness.receiver import Receiver
from eventsapi.listen import Api, Listener
from eventsapi.local.runtime import LocalRuntime
from eventsapi.local.wiring import REGION


def measure(events: int = 100) -> dict[str, Any]:
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


STORED_EVENT_BYTES = 60_000
STORED_SESSIONS = 5


def _item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's item size, near enough: attribute names plus values as text."""
    return sum(len(name.encode()) + len(str(value).encode()) for name, value in item.items())


def stored_bytes() -> dict[str, Any]:
    from bench.common import in_process_stack, sqs_event
    from events_core.listen import service as listen

    blob = "x" * STORED_EVENT_BYTES
    with contextlib.redirect_stdout(sys.stderr), in_process_stack({"FanoutCacheSeconds": "0"}) as stack:
        sessions = [listen.open_session("bench", {})["sessionId"] for _ in range(STORED_SESSIONS)]
        event = {
            "id": str(uuid.uuid4()),
            "source": SOURCE,
            "detail-type": "tool.executed",
            "time": "2026-04-12T08:00:00Z",
            "detail": {"developerId": "bench", "data": {"toolName": "t", "input": {"blob": blob}}},
        }
        queue_arn = stack.template.physical["EventsQueue"].attributes["Arn"]
        answer = stack.functions["FanoutFunction"].invoke(sqs_event([json.dumps(event)], queue_arn))
        assert answer == {"batchItemFailures": []}, answer
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        items = {
            logical: dynamodb.Table(stack.template.physical[logical].ref).scan()["Items"]  # bench only: scan is fine
            for logical in ("ListenTable", "DeliveriesTable", "PayloadsTable")
        }
    waiting = [i for i in items["ListenTable"] if str(i.get("sk", "")).startswith("msg_")]
    records = [i for i in items["DeliveriesTable"] if any(s in str(i["webhookKey"]) for s in sessions)]
    payloads = items["PayloadsTable"]
    copies = sum(blob in str(i) for i in [*waiting, *records, *payloads])
    return {
        "event_bytes": len(json.dumps(event["detail"]["data"])),
        "sessions": STORED_SESSIONS,
        "waiting_bytes": sum(map(_item_bytes, waiting)),
        "record_bytes": sum(map(_item_bytes, records)),
        "payload_bytes": sum(map(_item_bytes, payloads)),
        "payload_copies": copies,
        "total_bytes": sum(map(_item_bytes, [*waiting, *records, *payloads])),
    }


def rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    stored = results["stored"]
    return [
        (
            f"listen: one {stored['event_bytes'] / 1000:.0f} KB event into {stored['sessions']} sessions, bytes stored",
            f"{stored['total_bytes']:,} B, {stored['payload_copies']} payload copy (payloads "
            f"{stored['payload_bytes']:,} B + {stored['sessions']} waiting items {stored['waiting_bytes']:,} B "
            f"+ {stored['sessions']} records {stored['record_bytes']:,} B)",
        ),
        ("listen: put-events → forwarded to localhost, p50", f"{results['listen_p50'] * 1000:.1f} ms"),
        (
            f"listen: put-events → forwarded to localhost, p99 ({results['events']:.0f} events)",
            f"{results['listen_p99'] * 1000:.1f} ms",
        ),
    ]


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with contextlib.redirect_stdout(sys.stderr):  # the functions' log and metric lines are not the answer
        measured: dict[str, Any] = {**measure(count), "stored": stored_bytes()}
    print(json.dumps({"rows": rows(measured), "results": measured}))
