"""Reads follow the answer's size, not the table's: items DynamoDB reads (the queries'
ScannedCount) for GET /v1/events/logs with 100 and with N logs in the table, for a webhook's first
page of deliveries with 100 and with N deliveries, and for the fan-out of one event with 1 webhook
and with 1,000 webhooks of other developers or event types. And the fan-out's subscription cache:
queries of the ActiveByEvent index per event for a burst of 1,000 events of one developer, with the
cache off and at the template's default.

    .venv/bin/python -m bench.scaling [N]
"""

import contextlib
import json
import sys
import uuid
from collections.abc import Callable
from typing import Any

from bench.common import in_process_stack, sqs_event, template
from events_core import aws
from events_core.api_logs import ApiCall, to_item
from events_core.clock import iso_ms, new_id, now_ms
from events_core.config import settings
from events_core.event_types import EVENT_TYPES
from events_core.records.message import delivery_id
from events_core.records.model import DeliveryRecord, DeliveryStatus
from events_core.webhooks.model import Webhook
from events_core.webhooks.repository import ACTIVE_INDEX

BURST = 1000
BURST_BATCH = 10
DEFAULT_CACHE_SECONDS = str(template().parameters["FanoutCacheSeconds"])


class ScanCounter:
    """Sums ScannedCount of every Query made through the table resources' client, and counts the
    queries of the ActiveByEvent index."""

    def __init__(self) -> None:
        self.scanned = 0
        self.index_queries = 0
        client = aws.table(settings().webhooks_table).meta.client
        client.meta.events.register("after-call.dynamodb.Query", self._count)
        client.meta.events.register("before-parameter-build.dynamodb.Query", self._query)

    def _count(self, parsed: dict, **_: Any) -> None:
        self.scanned += int(parsed.get("ScannedCount", 0))

    def _query(self, params: dict, **_: Any) -> None:
        if params.get("IndexName") == ACTIVE_INDEX:
            self.index_queries += 1

    def during(self, action: Callable[[], object]) -> int:
        self.scanned = 0
        action()
        return self.scanned


def make_webhook(developer_id: str, event: str) -> Webhook:
    at = iso_ms(now_ms())
    return Webhook(
        developer_id=developer_id,
        webhook_id=new_id(),
        event=event,
        url="https://example.com/h",
        created_at=at,
        updated_at=at,
    )


def fill_logs(count: int, user: str) -> None:
    """As the ingest writes them: spread over the developer's shards (events_core.api_logs)."""
    table = aws.table(settings().api_logs_table)
    now = now_ms()
    with table.batch_writer() as batch:
        for n in range(count):
            owner = user if n % 2 == 0 else f"other_{n % 97}"
            call = ApiCall(owner, "/v1/events/types", "GET", 200, now - n * 10, 3, f"line-{n}")
            batch.put_item(Item=to_item(call, settings().log_shards))


def fill_webhooks(count: int) -> None:
    table = aws.table(settings().webhooks_table)
    with table.batch_writer() as batch:
        for n in range(count):
            developer, event = (f"other_{n}", "tool.executed") if n % 2 else ("bench", EVENT_TYPES[n % 10 or 1])
            if developer == "bench" and event == "tool.executed":
                event = "tool.failed"
            batch.put_item(Item=make_webhook(developer, event).to_item())


def fill_deliveries(count: int, webhook: Webhook) -> None:
    """`count` records, half of them the webhook's, the rest another webhook's of the same developer."""
    table = aws.table(settings().deliveries_table)
    now = now_ms()
    with table.batch_writer() as batch:
        for n in range(count):
            at = now - n * 10
            webhook_id = webhook.webhook_id if n % 2 == 0 else "other"
            record = DeliveryRecord(
                developer_id=webhook.developer_id,
                webhook_id=webhook_id,
                delivery_id=delivery_id(f"event-{n}", webhook_id, at),
                event_id=f"event-{n}",
                event=webhook.event,
                status=DeliveryStatus.SUCCEEDED,
                created_at=iso_ms(at),
                attempt=1,
                expires_at=at // 1000 + 86400,
            )
            batch.put_item(Item=record.to_item())


def api_event(user: str, path: str, resource: str, path_parameters: dict | None = None) -> dict:
    return {
        "resource": resource,
        "path": path,
        "httpMethod": "GET",
        "headers": {},
        "pathParameters": path_parameters,
        "queryStringParameters": None,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "stage": "prod",
            "authorizer": {"developerId": user, "scopes": "read"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def logs_event(user: str) -> dict:
    return api_event(user, "/v1/events/logs", "/v1/events/logs")


def deliveries_event(webhook: Webhook) -> dict:
    return api_event(
        webhook.developer_id,
        f"/v1/events/webhooks/{webhook.webhook_id}/deliveries",
        "/v1/events/webhooks/{id}/deliveries",
        {"id": webhook.webhook_id},
    )


def fanout_event(count: int = 1) -> dict:
    def envelope() -> str:
        return json.dumps(
            {
                "id": str(uuid.uuid4()),
                "source": "cn.invoratec.platform",
                "detail-type": "tool.executed",
                "time": "2026-04-12T08:00:00Z",
                "detail": {"developerId": "bench", "data": {}},
            }
        )

    return sqs_event([envelope() for _ in range(count)])


def bench_webhook() -> Webhook:
    webhook = make_webhook("bench", "tool.executed")
    aws.table(settings().webhooks_table).put_item(Item=webhook.to_item())
    return webhook


def _succeeds(answer: dict) -> None:
    if answer.get("statusCode") != 200:
        raise RuntimeError(f"the call failed: {answer}")


def index_queries_per_event(cache_seconds: str, events: int) -> float:
    """A burst of `events` of one developer through the fan-out, in batches of 10 as SQS hands them."""
    with in_process_stack({"FanoutCacheSeconds": cache_seconds}) as stack:
        counter = ScanCounter()
        bench_webhook()
        fanout = stack.functions["FanoutFunction"]
        for _ in range(events // BURST_BATCH):
            assert fanout.invoke(fanout_event(BURST_BATCH)) == {"batchItemFailures": []}
        return counter.index_queries / events


def measure(big_logs: int = 100_000) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with in_process_stack() as stack:
        functions = stack.functions
        counter = ScanCounter()
        fill_logs(200, "bench")  # 100 of the caller's
        results["logs_small"] = counter.during(lambda: functions["ListLogsFunction"].invoke(logs_event("bench")))
    with in_process_stack() as stack:
        functions = stack.functions
        counter = ScanCounter()
        fill_logs(big_logs, "bench")
        results["logs_big"] = counter.during(lambda: functions["ListLogsFunction"].invoke(logs_event("bench")))
    with in_process_stack({"FanoutCacheSeconds": "0"}) as stack:  # every event reads
        functions = stack.functions
        counter = ScanCounter()
        aws.table(settings().webhooks_table).put_item(Item=make_webhook("bench", "tool.executed").to_item())
        results["fanout_small"] = counter.during(lambda: functions["FanoutFunction"].invoke(fanout_event()))
        fill_webhooks(1000)
        results["fanout_big"] = counter.during(lambda: functions["FanoutFunction"].invoke(fanout_event()))
    for size, name in ((200, "deliveries_small"), (big_logs, "deliveries_big")):  # half of them the webhook's
        with in_process_stack() as stack:
            counter = ScanCounter()
            webhook = bench_webhook()
            fill_deliveries(size, webhook)
            listing = stack.functions["ListDeliveriesFunction"]
            event = deliveries_event(webhook)
            results[name] = counter.during(lambda: _succeeds(listing.invoke(event)))  # noqa: B023 - called at once
    results["burst_without_cache"] = index_queries_per_event("0", BURST)
    results["burst_with_cache"] = index_queries_per_event(DEFAULT_CACHE_SECONDS, BURST)
    results["big_logs"] = big_logs
    return results


def rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    cached = results["burst_with_cache"]
    return [
        ("scaling: GET logs, 100 logs in table (items read)", str(results["logs_small"])),
        (f"scaling: GET logs, {results['big_logs']:,} logs in table (items read)", str(results["logs_big"])),
        ("scaling: GET deliveries, 100 of the webhook's (items read)", str(results["deliveries_small"])),
        (
            f"scaling: GET deliveries, {results['big_logs'] // 2:,} of the webhook's (items read)",
            str(results["deliveries_big"]),
        ),
        ("scaling: fan-out, 1 webhook in table (items read)", str(results["fanout_small"])),
        ("scaling: fan-out, +1,000 other webhooks (items read)", str(results["fanout_big"])),
        (
            f"fan-out cache off: index queries per event, burst of {BURST:,}",
            f"{results['burst_without_cache']:.3f}",
        ),
        (
            f"fan-out cache {DEFAULT_CACHE_SECONDS} s: index queries per event, burst of {BURST:,}",
            f"{cached:.3f}  (target < 1: {'ok' if cached < 1 else 'OVER'})",
        ),
    ]


if __name__ == "__main__":
    with contextlib.redirect_stdout(sys.stderr):  # the functions' log and metric lines are not the answer
        measured = measure(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
    print(json.dumps({"rows": rows(measured), "results": measured}))
