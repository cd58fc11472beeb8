"""API-call logs: ingestion throughput of one ingest invocation (the template's function on the
in-process emulator, CloudWatch Logs' envelope of 1,000 access-log lines), and the items one page
of GET /v1/events/logs reads, filtered and not, with 10,000 and with 100,000 logs of one developer.

Items read are counted on an in-memory table that answers Query as DynamoDB does (a sorted key
range, Limit, LastEvaluatedKey; ScannedCount = items returned, no filter expression is used):
moto reads its whole table on every Query, hours at 100,000. The same pages are read from moto
at the smaller size as a check that both count the same.

    .venv/bin/python -m bench.api_call_logs [SMALL BIG]
"""

import bisect
import contextlib
import json
import statistics
import sys
import time
from collections import defaultdict
from typing import Any

from bench.common import in_process_stack
from events_core import aws
from events_core.access_logs import awslogs_event
from events_core.api_logs import ApiCall, ApiLogStore, to_item
from events_core.clock import iso_ms, now_ms
from events_core.config import settings
from events_core.log_query import LogQuery

LINES_PER_INVOCATION = 1000
ROUNDS = 5
DEVELOPER = "bench"
PAGES = 5
LIMIT = 100
# (name, query parameters): the share of the developer's calls each matches is fixed by `call`.
FILTERS = (
    ("no filter", {}),
    ("status=5xx (10%)", {"status": "5xx"}),
    ("since/until: 30 seconds", {"since": "", "until": ""}),
    ("method=POST&endpoint=/v1/ai (25%)", {"method": "POST", "endpoint": "/v1/ai"}),
    ("status=404 (1%: the read budget binds)", {"status": "404"}),
)


def call(n: int, start_ms: int, developer: str = DEVELOPER) -> ApiCall:
    status = 503 if n % 10 == 3 else 404 if n % 100 == 7 else 200
    method = "POST" if n % 2 else "GET"
    endpoint = "/v1/ai/chat" if n % 4 in (1, 3) and n % 2 else "/v1/tools/erp_get_inventory/test"
    if n % 4 == 3:
        endpoint = "/v1/events/webhooks"
    return ApiCall(developer, endpoint, method, status, start_ms + n * 20, 30, f"{developer}-{n}")


def access_line(n: int, at_ms: int) -> str:
    return json.dumps(
        {
            "requestId": f"r-{n}",
            "developerId": f"dev_{n % 50}",
            "method": "POST",
            "path": "/prod/v1/ai/chat",
            "stage": "prod",
            "status": "200",
            "requestTimeEpoch": str(at_ms),
            "latencyMs": "120",
            "ip": "203.0.113.9",
            "error": "-",
        },
        separators=(",", ":"),
    )


def ingestion() -> dict[str, float]:
    """Seconds per invocation of 1,000 lines (median of 5, warm), and BatchWriteItem calls made."""
    with in_process_stack() as stack:
        ingest = stack.functions["IngestApiLogsFunction"]
        batches = 0

        def count(**_: Any) -> None:
            nonlocal batches
            batches += 1

        aws.table(settings().api_logs_table).meta.client.meta.events.register(
            "before-call.dynamodb.BatchWriteItem", count
        )
        ingest.invoke(awslogs_event("/g", [("warm", now_ms(), access_line(0, now_ms()))]))
        batches = 0
        seconds = []
        for round_ in range(ROUNDS):
            at = now_ms()
            lines = [(f"{round_}-{n}", at, access_line(n, at + n)) for n in range(LINES_PER_INVOCATION)]
            event = awslogs_event("/aws/apigateway/bench", lines)
            started = time.perf_counter()
            answer = ingest.invoke(event)
            seconds.append(time.perf_counter() - started)
            assert answer["written"] == LINES_PER_INVOCATION, answer
        return {
            "seconds": statistics.median(seconds),
            "batch_writes_per_line": batches / (ROUNDS * LINES_PER_INVOCATION),
        }


class MemoryLogTable:
    """Query over sorted partitions, as DynamoDB answers it (the key conditions the store uses)."""

    name = "memory"

    def __init__(self, items: list[dict[str, Any]]):
        self.partitions: dict[str, list[str]] = defaultdict(list)
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        for item in items:
            self.partitions[item["userId"]].append(item["logId"])
            self.items[(item["userId"], item["logId"])] = item
        for ids in self.partitions.values():
            ids.sort()

    def query(self, *, KeyConditionExpression: Any, Limit: int, ScanIndexForward: bool, **rest: Any) -> dict:
        partition, low, high = _bounds(KeyConditionExpression)
        ids = self.partitions.get(partition, [])
        start = 0 if low is None else bisect.bisect_left(ids, low[0]) + (0 if low[1] else 1)
        end = len(ids) if high is None else (bisect.bisect_right if high[1] else bisect.bisect_left)(ids, high[0])
        if "ExclusiveStartKey" in rest:
            end = min(end, bisect.bisect_left(ids, rest["ExclusiveStartKey"]["logId"]))
        assert not ScanIndexForward
        chosen = ids[max(start, end - Limit) : end][::-1]
        answer: dict[str, Any] = {
            "Items": [self.items[(partition, log_id)] for log_id in chosen],
            "ScannedCount": len(chosen),
        }
        if end - Limit >= start:  # DynamoDB names a last key whenever it stops at Limit
            answer["LastEvaluatedKey"] = {"userId": partition, "logId": chosen[-1]}
        return answer


def _bounds(condition: Any) -> tuple[str, tuple[str, bool] | None, tuple[str, bool] | None]:
    """(partition, (low, inclusive), (high, inclusive)) of Key(hash).eq(..) [& Key(range).op(..)]."""
    parts = [condition] if condition.expression_operator != "AND" else list(condition._values)
    partition, low, high = "", None, None
    for part in parts:
        values = part._values[1:]
        operator = part.expression_operator
        if operator == "=":
            partition = values[0]
        elif operator == "BETWEEN":
            low, high = (values[0], True), (values[1], True)
        elif operator == "<":
            high = (values[0], False)
        elif operator == ">=":
            low = (values[0], True)
        else:
            raise ValueError(operator)
    return partition, low, high


def pages_read(store: ApiLogStore, params: dict[str, str], start_ms: int, pages: int = PAGES) -> list[int]:
    """Items read by each of the first PAGES pages, following the cursor."""
    if "since" in params:  # seconds 10 to 40 of the developer's calls: 1,500 of them at any size
        params = {"since": iso_ms(start_ms + 10_000), "until": iso_ms(start_ms + 40_000)}
    query, before, reads = LogQuery.parse(params), None, []
    for _ in range(pages):
        page = store.page(DEVELOPER, query, limit=LIMIT, before=before)
        reads.append(page.items_read)
        before = page.next_before
        if before is None:
            break
    return reads


def filled(count: int, start: int) -> list[dict[str, Any]]:
    shards = settings().log_shards
    mine = [to_item(call(n, start), shards) for n in range(count)]
    others = [to_item(call(n, start, f"other_{n % 7}"), shards) for n in range(count // 10)]
    return mine + others


def reads_at(count: int, start: int) -> dict[str, list[int]]:
    store = ApiLogStore(MemoryLogTable(filled(count, start)))
    return {name: pages_read(store, params, start) for name, params in FILTERS}


MOTO_CHECK = 2000


def moto_check(count: int, start: int) -> dict[str, list[int]]:
    """The first two pages of each filter on the emulator's table (small: moto reads its whole
    table per Query), to compare with the in-memory count of the same data."""
    with in_process_stack():
        table = aws.table(settings().api_logs_table)
        with table.batch_writer() as batch:
            for item in filled(count, start):
                batch.put_item(Item=item)
        store = ApiLogStore(table)
        return {name: pages_read(store, params, start, 2) for name, params in FILTERS}


def measure(small: int, big: int) -> dict[str, Any]:
    results: dict[str, Any] = {"small": small, "big": big, "shards": settings().log_shards}
    results["ingest"] = ingestion()
    start = now_ms() - 86_400_000
    results["reads_small"] = reads_at(small, start)
    results["reads_big"] = reads_at(big, start)
    results["moto_check"] = moto_check(MOTO_CHECK, start)
    results["memory_check"] = {name: reads[:2] for name, reads in reads_at(MOTO_CHECK, start).items()}
    return results


def rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    ingest = results["ingest"]
    per_second = LINES_PER_INVOCATION / ingest["seconds"]
    found = [
        (
            f"logs ingest: {LINES_PER_INVOCATION:,} access-log lines per invocation (local emulator)",
            f"{ingest['seconds'] * 1000:.0f} ms = {per_second:,.0f} lines/s per invocation; "
            f"{ingest['batch_writes_per_line'] * LINES_PER_INVOCATION:.0f} BatchWriteItem calls",
        )
    ]
    for name, _ in FILTERS:
        small, big = results["reads_small"][name], results["reads_big"][name]
        # Shards fill unevenly at random, so two sizes differ by a few items; what matters is no growth.
        same = "flat" if max(big) <= 1.2 * max(small) else "GROWS"
        found.append(
            (
                f"logs page ({LIMIT}), {name}: items read, pages 1-{len(big)}",
                f"{results['small']:,} logs: {statistics.mean(small):.0f}  {results['big']:,} logs: "
                f"{statistics.mean(big):.0f}  ({same}; max {max(big)})",
            )
        )
    agree = results["moto_check"] == results["memory_check"]
    found.append(
        (
            f"logs page: the emulator's ScannedCount agrees with the in-memory count ({MOTO_CHECK:,} logs)",
            "yes" if agree else f"NO: {results['moto_check']} vs {results['memory_check']}",
        )
    )
    return found


if __name__ == "__main__":
    sizes = [int(arg) for arg in sys.argv[1:3]] or [10_000, 100_000]
    with contextlib.redirect_stdout(sys.stderr):  # the functions' log and metric lines are not the answer
        measured = measure(*sizes)
    print(json.dumps({"rows": rows(measured), "results": measured}))
