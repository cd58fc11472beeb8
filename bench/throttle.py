"""A rate-limited webhook under a burst: N posts queued at once for a webhook limited to R a
second. Prints the queue operations each throttled message cost (its slot is scheduled once: one
delayed send, then one receive and one delete when it comes back), the DynamoDB writes per post,
the highest number of posts the receiver saw in any one-second window, and how long the burst took
against N / R."""

import contextlib
import io
import json
import sys
import threading
import time
import uuid
from collections import Counter
from typing import Any

import boto3
from botocore.client import BaseClient

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


class QueueCalls:
    """AWS calls made in this process, whatever client made them (the in-process functions have
    their own): SQS operations (entries of batched calls one by one) and webhook-item updates."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.sent: Counter = Counter()  # delivery id → times sent to the delivery queue
        original = BaseClient._make_api_call
        calls = self

        def counted(client: Any, operation: str, params: dict) -> Any:
            calls.seen(client.meta.service_model.service_name, operation, params)
            return original(client, operation, params)

        BaseClient._make_api_call = counted  # type: ignore[method-assign]

    def seen(self, service: str, operation: str, params: dict) -> None:
        if service == "dynamodb" and operation == "UpdateItem" and "WebhooksTable" in params.get("TableName", ""):
            self.counts["webhook-writes"] += 1
        if service != "sqs" or "DeliveryQueue" not in params.get("QueueUrl", ""):
            return
        entries = params.get("Entries") or [params]
        self.counts[f"sqs:{operation}"] += len(entries) if operation != "ReceiveMessage" else 1
        if operation in ("SendMessage", "SendMessageBatch"):
            for entry in entries:
                self.sent[json.loads(entry["MessageBody"])["delivery_id"]] += 1


def measure(count: int, per_second: int) -> dict[str, Any]:
    with Receiver() as receiver, contextlib.redirect_stdout(io.StringIO()), in_process_stack(LOCAL) as stack:
        calls = QueueCalls()
        times: list[float] = []
        lock = threading.Lock()

        def record() -> Behaviour:
            with lock:
                times.append(time.monotonic())
            return Behaviour(status=200)

        receiver.behave("/limited", record)
        ApiKeyStore().create("bench", ("read", "write"))
        hook = service.register(
            "bench",
            {
                "event": "tool.executed",
                "url": receiver.url("/limited"),
                "rateLimit": {"count": per_second, "periodSeconds": 1},
            },
        )
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = stack.template.physical["DeliveryQueue"].ref
        at = now_ms()
        for start in range(0, count, 10):
            entries = []
            for n in range(start, min(count, start + 10)):
                event_id = str(uuid.uuid4())
                message = DeliveryMessage(
                    delivery_id=delivery_id(event_id, hook.webhook_id, at),
                    webhook_id=hook.webhook_id,
                    developer_id="bench",
                    event_id=event_id,
                    event="tool.executed",
                    timestamp=iso_ms(at),
                    payload=payload_text("tool.executed", iso_ms(at), json.dumps({"n": n})),
                    queued_at_ms=at,
                )
                entries.append({"Id": str(n), "MessageBody": message.to_json(), "MessageGroupId": "bench"})
            sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        calls.counts.clear()
        calls.sent.clear()
        sources = [
            s for s in event_sources(stack.template, stack.functions, sqs) if "Deliver" in s.function.spec.logical_id
        ]
        started = time.monotonic()
        deadline = started + count / per_second * 3 + 30

        def poll() -> None:  # like Lambda's concurrent invocations of the delivery function
            while len(times) < count and time.monotonic() < deadline:
                if not sum(source.poll_once() for source in sources):
                    time.sleep(0.05)

        pollers = [threading.Thread(target=poll) for _ in range(CONCURRENCY)]
        for poller in pollers:
            poller.start()
        for poller in pollers:
            poller.join()
        took = time.monotonic() - started
    throttled = len(calls.sent)
    sends = sum(calls.sent.values())
    ordered = sorted(times)
    busiest = max((sum(1 for t in ordered if s <= t < s + 1.0) for s in ordered), default=0)
    return {
        "messages": count,
        "per_second": per_second,
        "delivered": len(times),
        "throttled": throttled,
        # A throttled message's queue operations beyond an ordinary one's: its delayed re-send(s);
        # each comes back once (one more receive and delete, batched by ten).
        "queue_ops_per_throttled": sends / max(1, throttled),
        "webhook_writes_per_post": calls.counts["webhook-writes"] / max(1, len(times)),
        "busiest_second": busiest,
        "seconds": took,
        "ideal_seconds": (count - 1) / per_second,
    }


def rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (
            f"rate limit: {results['messages']} posts at {results['per_second']}/s",
            f"{results['delivered']} delivered in {results['seconds']:.1f} s (ideal {results['ideal_seconds']:.1f} s);"
            f" busiest second {results['busiest_second']} (limit + 1 = {results['per_second'] + 1})",
        ),
        (
            "rate limit: queue operations per throttled message",
            f"{results['queue_ops_per_throttled']:.2f} delayed sends each (target ≤ 2);"
            f" {results['throttled']} of {results['messages']} throttled",
        ),
        (
            "rate limit: webhook-item writes per post",
            f"{results['webhook_writes_per_post']:.2f} (its slot: 1, a second when it came back late; target ≤ 2)",
        ),
    ]


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    rate = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    measured = measure(size, rate)
    print(json.dumps({"rows": rows(measured), "results": measured}))
