"""Reads follow the answer's size, not the table's: items DynamoDB reads (the queries'
ScannedCount) for GET /v1/events/logs with 100 and with N logs in the table, and for the fan-out
of one event with 1 webhook and with 1,000 webhooks of other developers or event types."""

import json
import sys
import uuid
from collections.abc import Callable
from typing import Any

from bench.common import in_process_stack
from events_core import aws
from events_core.clock import iso_ms, new_id, now_ms
from events_core.config import settings
from events_core.event_types import EVENT_TYPES
from events_core.webhooks.model import Webhook


class ScanCounter:
    """Sums ScannedCount of every Query made through the table resources' client."""

    def __init__(self) -> None:
        self.scanned = 0
        client = aws.table(settings().webhooks_table).meta.client
        client.meta.events.register("after-call.dynamodb.Query", self._count)

    def _count(self, parsed: dict, **_: Any) -> None:
        self.scanned += int(parsed.get("ScannedCount", 0))

    def during(self, action: Callable[[], object]) -> int:
        self.scanned = 0
        action()
        return self.scanned


def fill_logs(count: int, user: str) -> None:
    table = aws.table(settings().api_logs_table)
    now = now_ms()
    with table.batch_writer() as batch:
        for n in range(count):
            at = now - n * 10
            owner = user if n % 2 == 0 else f"other_{n % 97}"
            batch.put_item(
                Item={
                    "userId": owner,
                    "logId": new_id(at),
                    "endpoint": "/v1/events/types",
                    "method": "GET",
                    "status": 200,
                    "timestamp": iso_ms(at),
                    "responseTime": 3,
                    "expiresAt": at // 1000,
                }
            )


def fill_webhooks(count: int) -> None:
    table = aws.table(settings().webhooks_table)
    with table.batch_writer() as batch:
        for n in range(count):
            developer, event = (f"other_{n}", "tool.executed") if n % 2 else ("bench", EVENT_TYPES[n % 10 or 1])
            if developer == "bench" and event == "tool.executed":
                event = "tool.failed"
            batch.put_item(
                Item=Webhook(developer, new_id(), event, "https://example.com/h", iso_ms(now_ms())).to_item()
            )


def logs_event(user: str) -> dict:
    return {
        "resource": "/v1/events/logs",
        "path": "/v1/events/logs",
        "httpMethod": "GET",
        "headers": {},
        "queryStringParameters": None,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "stage": "prod",
            "authorizer": {"developerId": user, "scopes": "read"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def fanout_event() -> dict:
    envelope = {
        "id": str(uuid.uuid4()),
        "source": "cn.invoratec.platform",
        "detail-type": "tool.executed",
        "time": "2026-04-12T08:00:00Z",
        "detail": {"developerId": "bench", "data": {}},
    }
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "r",
                "body": json.dumps(envelope),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn",
                "awsRegion": "us-east-1",
            }
        ]
    }


def measure(big_logs: int = 100_000) -> dict[str, int]:
    results = {}
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
    with in_process_stack() as stack:
        functions = stack.functions
        counter = ScanCounter()
        aws.table(settings().webhooks_table).put_item(
            Item=Webhook("bench", new_id(), "tool.executed", "https://example.com/h", iso_ms(now_ms())).to_item()
        )
        results["fanout_small"] = counter.during(lambda: functions["FanoutFunction"].invoke(fanout_event()))
        fill_webhooks(1000)
        results["fanout_big"] = counter.during(lambda: functions["FanoutFunction"].invoke(fanout_event()))
    results["big_logs"] = big_logs
    return results


def rows(results: dict[str, int]) -> list[tuple[str, str]]:
    return [
        ("scaling: GET logs, 100 logs in table (items read)", str(results["logs_small"])),
        (f"scaling: GET logs, {results['big_logs']:,} logs in table (items read)", str(results["logs_big"])),
        ("scaling: fan-out, 1 webhook in table (items read)", str(results["fanout_small"])),
        ("scaling: fan-out, +1,000 other webhooks (items read)", str(results["fanout_big"])),
    ]


if __name__ == "__main__":
    measured = measure(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
    print(json.dumps({"rows": rows(measured), "results": measured}))
