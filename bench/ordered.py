"""An ordered webhook under load: N events over K keys queued at once for one webhook with
`ordering` (windowMs 0: the throughput of the key's claim-and-hand-over itself), posted by a few
concurrent delivery invocations. Prints ordered deliveries per second for the webhook (local
emulator) and checks the order the receiver saw: inversions (a post not marked out of order after
a later event of its key), duplicates, and how many were marked out of order."""

import contextlib
import io
import json
import random
import sys
import threading
import time
import uuid
from typing import Any

import boto3

from bench.common import in_process_stack
from events_core.api_keys import ApiKeyStore
from events_core.clock import iso_ms, now_ms
from events_core.delivery.envelope import payload_text
from events_core.records.message import DeliveryMessage, delivery_id
from events_core.webhooks import service
from eventsapi.harness.receiver import Behaviour, Receiver
from eventsapi.local.wiring import REGION, event_sources

CONCURRENCY = 4  # delivery invocations at once
LOCAL = {"AllowHttpUrls": "true", "AllowedPrivateNetworks": "127.0.0.0/8", "FanoutCacheSeconds": "0"}


def measure(count: int, keys: int) -> dict[str, Any]:
    seen: list[tuple[str, int]] = []
    lock = threading.Lock()

    def record(body: bytes) -> Behaviour:
        data = json.loads(body)["data"]
        with lock:
            seen.append((data["workflowId"], data["n"]))
        return Behaviour(status=200)

    with Receiver() as receiver, contextlib.redirect_stdout(io.StringIO()), in_process_stack(LOCAL) as stack:
        receiver.behave_by_body("/ordered", record)
        ApiKeyStore().create("bench", ("read", "write"))
        hook = service.register(
            "bench",
            {
                "event": "tool.executed",
                "url": receiver.url("/ordered"),
                "ordering": {"by": "workflowId", "windowMs": 0},
            },
        )
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = stack.template.physical["DeliveryQueue"].ref
        at = now_ms()
        events = [(f"wf-{k}", n) for n in range(count // keys) for k in range(keys)]
        random.Random(1).shuffle(events)
        events.sort(key=lambda e: e[1])  # each key's events in order, the keys interleaved
        for start in range(0, len(events), 10):
            entries = []
            for index, (workflow, n) in enumerate(events[start : start + 10], start=start):
                event_id = str(uuid.uuid4())
                message = DeliveryMessage(
                    delivery_id=delivery_id(event_id, hook.webhook_id, at),
                    webhook_id=hook.webhook_id,
                    developer_id="bench",
                    event_id=event_id,
                    event="tool.executed",
                    timestamp=iso_ms(at),
                    payload=payload_text("tool.executed", iso_ms(at), json.dumps({"workflowId": workflow, "n": n})),
                    queued_at_ms=at,
                    sequence=n,
                )
                entries.append({"Id": str(index), "MessageBody": message.to_json(), "MessageGroupId": "bench"})
            sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        sources = [
            s for s in event_sources(stack.template, stack.functions, sqs) if "Deliver" in s.function.spec.logical_id
        ]
        started = time.monotonic()
        deadline = started + 120

        def poll() -> None:  # like Lambda's concurrent invocations of the delivery function
            while len(seen) < len(events) and time.monotonic() < deadline:
                if not sum(source.poll_once() for source in sources):
                    time.sleep(0.05)

        pollers = [threading.Thread(target=poll) for _ in range(CONCURRENCY)]
        for poller in pollers:
            poller.start()
        for poller in pollers:
            poller.join()
        took = time.monotonic() - started
        posts = [
            (json.loads(p.body)["data"], p.headers.get("X-Webhook-Out-Of-Order") == "true")
            for p in receiver.at("/ordered")
        ]
    last: dict[str, int] = {}
    inversions = marked = 0
    for data, late in posts:
        workflow, n = data["workflowId"], data["n"]
        if late:
            marked += 1
        elif n < last.get(workflow, -1):
            inversions += 1  # posted unmarked after a later event of its key
        last[workflow] = max(n, last.get(workflow, -1))
    delivered = len(set(seen))
    return {
        "events": len(events),
        "keys": keys,
        "delivered": delivered,
        "duplicates": len(seen) - delivered,
        "inversions": inversions,
        "out_of_order": marked,
        "seconds": took,
        "per_second": delivered / took if took else 0.0,
    }


def rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (
            f"ordered: deliveries per second per webhook ({results['keys']} keys, local)",
            f"{results['per_second']:.1f}/s: {results['delivered']} of {results['events']} in"
            f" {results['seconds']:.1f} s; {results['inversions']} inversions, {results['duplicates']} duplicates,"
            f" {results['out_of_order']} marked out of order (window 0: arrivals in one batch race)",
        ),
    ]


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    key_count = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    measured = measure(size, key_count)
    print(json.dumps({"rows": rows(measured), "results": measured}))
