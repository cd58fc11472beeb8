"""API-call logs: the reference's entry, written in batches by the access-log ingest (and by
`clients/api_call_log` through the same ingest), read newest first with filters and a cursor.

Table (ApiLogsTable, key schema unchanged since it was created): `userId` (hash) + `logId` (range,
24-hex time-ordered id, so a backwards Query is newest first). The hash key is write-sharded: a
developer's entries spread over `LogShards` partitions, shard 0 being the plain developer id (the
partition every entry written before sharding sits in) and shard n the value "developer#n", so
one developer's thousands of calls a second never meet one partition's 1,000 writes a second.
A page is a scatter-gather: one Query per shard, merged newest first. Items carry `developerId`,
and a read keeps only its caller's (a developer id that itself ends in "#n" cannot read another's
shard). Items expire through the table's TTL attribute `expiresAt`.
"""

import hashlib
import math
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Key

from events_core.aws import LazyTable
from events_core.clock import iso_ms
from events_core.config import settings
from events_core.log_query import LogQuery

_PUBLIC_FIELDS = ("endpoint", "method", "status", "timestamp", "responseTime")
BATCH_WRITE_MAX = 25  # DynamoDB's BatchWriteItem limit
WRITE_ATTEMPTS = 8
WRITE_CONCURRENCY = 4
READ_CONCURRENCY = 16  # a page's shard Queries in flight at once (LogShards is at most 64)


@dataclass(frozen=True)
class ApiCall:
    """One logged call, as the ingest or a service client hands it over."""

    developer_id: str
    endpoint: str
    method: str
    status: int
    at_ms: int  # when the request arrived (epoch milliseconds)
    response_time_ms: int
    source_id: str  # unique per call (the log event's id): the entry's id and shard derive from it


def log_id(at_ms: int, source_id: str) -> str:
    """24 hex: the second (8) and millisecond (3) of the call, then 13 from a hash of its source id,
    so a redelivered log event writes the same item again instead of a second one."""
    seconds, millis = divmod(at_ms, 1000)
    return f"{seconds:08x}{millis:03x}{hashlib.sha256(source_id.encode()).hexdigest()[:13]}"


def shard_key(developer_id: str, shard: int) -> str:
    return developer_id if shard == 0 else f"{developer_id}#{shard}"


def shard_of(source_id: str, shards: int) -> int:
    return int(hashlib.sha256(b"shard\n" + source_id.encode()).hexdigest()[:8], 16) % max(shards, 1)


def to_item(call: ApiCall, shards: int) -> dict[str, Any]:
    return {
        "userId": shard_key(call.developer_id, shard_of(call.source_id, shards)),
        "logId": log_id(call.at_ms, call.source_id),
        "developerId": call.developer_id,
        "endpoint": call.endpoint,
        "method": call.method,
        "status": call.status,
        "timestamp": iso_ms(call.at_ms),
        "responseTime": call.response_time_ms,
        "expiresAt": settings().expires_at(call.at_ms),
    }


def public(item: dict[str, Any]) -> dict[str, Any]:
    """The reference's entry: _id, userId, endpoint, method, status, timestamp, responseTime."""
    log: dict[str, Any] = {"_id": item["logId"], "userId": item.get("developerId", item["userId"])}
    for name in _PUBLIC_FIELDS:
        value = item.get(name)
        log[name] = int(value) if name in ("status", "responseTime") and value is not None else value
    return log


def read_budget(limit: int) -> int:
    """Items one page may read: 20 for each entry asked for (a filter matching 5% of a developer's
    calls still fills its page), at least 2,000, at most 10,000 (a 10 s function, 1 MB Queries)."""
    return min(max(2000, 20 * limit), 10_000)


@dataclass(frozen=True)
class LogPage:
    logs: list[dict[str, Any]]
    next_before: str | None  # the id the next page continues below (exclusive); None at the end
    items_read: int


class UnprocessedWrites(Exception):
    """BatchWriteItem kept handing back items after every retry (the table is throttled)."""


class ApiLogStore:
    table = LazyTable("api_logs_table")

    def __init__(self, table: Any = None, *, sleep: Callable[[float], None] = time.sleep):
        if table is not None:
            self.table = table
        self.sleep = sleep

    # -- writes
    def write(self, calls: Iterable[ApiCall]) -> int:
        """BatchWriteItem in 25s; unprocessed items are retried with back-off. Returns items written."""
        shards = settings().log_shards
        unique = {(item["userId"], item["logId"]): item for item in (to_item(call, shards) for call in calls)}
        items = list(unique.values())  # one batch may not name one key twice
        batches = [items[start : start + BATCH_WRITE_MAX] for start in range(0, len(items), BATCH_WRITE_MAX)]
        if len(batches) <= 1:
            for batch in batches:
                self._write_batch(batch)
            return len(items)
        # The calls wait on the network: a few at once multiply an invocation's throughput.
        with ThreadPoolExecutor(max_workers=min(WRITE_CONCURRENCY, len(batches))) as pool:
            for done in [pool.submit(self._write_batch, batch) for batch in batches]:
                done.result()  # the first failure fails the invocation (CloudWatch Logs retries it)
        return len(items)

    def _write_batch(self, items: list[dict[str, Any]]) -> None:
        requests: list[dict[str, Any]] = [{"PutRequest": {"Item": item}} for item in items]
        client = self.table.meta.client
        for attempt in range(WRITE_ATTEMPTS):
            answer = client.batch_write_item(RequestItems={self.table.name: requests})
            requests = answer.get("UnprocessedItems", {}).get(self.table.name, [])
            if not requests:
                return
            self.sleep(min(0.05 * 2**attempt, 2.0))
        raise UnprocessedWrites(f"{len(requests)} log entries still unprocessed after {WRITE_ATTEMPTS} attempts")

    # -- reads
    def page(self, developer_id: str, query: LogQuery, *, limit: int, before: str | None = None) -> LogPage:
        """The caller's entries matching `query`, newest first, below `before`. Every shard is read
        in chunks and merged; an entry read but not matching still counts toward the read budget,
        and a page that spends it ends early with a cursor where it stopped."""
        upper = query.upper_id()
        if before is not None and (upper is None or before < upper):
            upper = before
        lower = query.lower_id()
        budget = read_budget(limit)
        shards = settings().log_shards
        streams = [_ShardStream(self.table, shard_key(developer_id, s), lower, upper) for s in range(shards)]
        found: list[dict[str, Any]] = []
        last_seen: str | None = None
        consumed = 0
        while len(found) < limit:
            read = sum(stream.read for stream in streams)
            pending = [stream for stream in streams if not stream.buffer and not stream.done]
            if pending and read >= budget and last_seen is not None:
                return LogPage(found, last_seen, read)
            if pending:
                # Each shard holds about 1/shards of what is left to find; a filter that has matched
                # a share of what was read so far needs that much more read.
                rate = max(len(found) / consumed, 0.05) if consumed else 1.0
                size = min(1000, max(4, math.ceil((limit - len(found)) / rate / shards) + 2))
                # Shards drain at about the same pace (entries are spread by hash): while a filter
                # passes over most entries, the others about to run dry are read in the same round,
                # not each in a round of its own. A page that is nearly full reads only what ran dry.
                if rate < 0.5:
                    pending = [stream for stream in streams if not stream.done and len(stream.buffer) < size]
                _fetch_all(pending, size)
            live = [stream for stream in streams if stream.buffer]
            if not live:
                return LogPage(found, None, sum(stream.read for stream in streams))
            item = max(live, key=lambda stream: stream.buffer[0]["logId"]).buffer.pop(0)
            last_seen = item["logId"]
            consumed += 1
            if item.get("developerId", item["userId"]) == developer_id and query.matches(item):
                found.append(public(item))
        more = any(stream.buffer or not stream.done for stream in streams)
        return LogPage(found, last_seen if more else None, sum(stream.read for stream in streams))


def _fetch_all(streams: list["_ShardStream"], size: int) -> None:
    """The next chunk of every stream at once: a page's shards are independent partitions, and one
    Query after another made a page wait for each shard's round trip in turn (eight on the first
    read alone)."""
    if len(streams) == 1:
        streams[0].fetch(size)
        return
    with ThreadPoolExecutor(max_workers=min(len(streams), READ_CONCURRENCY)) as pool:
        for done in [pool.submit(stream.fetch, size) for stream in streams]:
            done.result()


class _ShardStream:
    """One shard's entries in [lower, upper), newest first, fetched a chunk at a time."""

    def __init__(self, table: Any, partition: str, lower: str | None, upper: str | None):
        condition = Key("userId").eq(partition)
        if lower is not None and upper is not None:
            condition = condition & Key("logId").between(lower, upper)
        elif upper is not None:
            condition = condition & Key("logId").lt(upper)
        elif lower is not None:
            condition = condition & Key("logId").gte(lower)
        self.table = table
        self.upper = upper
        self.query: dict[str, Any] = {"KeyConditionExpression": condition, "ScanIndexForward": False}
        self.buffer: list[dict[str, Any]] = []
        self.done = False
        self.read = 0

    def fetch(self, size: int) -> None:
        answer = self.table.query(Limit=size, **self.query)
        self.read += int(answer.get("ScannedCount", 0))
        # `between` includes its upper end, which the range excludes (a cursor's or until's id).
        self.buffer.extend(item for item in answer.get("Items", []) if item["logId"] != self.upper)
        last = answer.get("LastEvaluatedKey")
        if last is None:
            self.done = True
        else:
            self.query["ExclusiveStartKey"] = last
