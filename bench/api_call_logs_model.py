"""API-call logs in the cost and scale models: the cost per million logged calls and the ingest's
ceilings, from bench/api_call_logs.py's figures and the template. Appended to docs/cost.md and
docs/scale.md by `make bench`."""

import math
from typing import Any

from bench.common import template
from bench.cost_model import PRICES
from bench.scale_model import LAMBDA_ACCOUNT_CONCURRENCY, PARTITION_WCU, TABLE_ON_DEMAND

MILLION = 1_000_000
LINE_BYTES = 400  # one access-log line in the documented format, filled in
ENTRY_BYTES = 250  # one stored entry: under 1 KB, so one WRU a write
LINES_PER_INVOCATION = 100  # CloudWatch Logs' batches at volume; a quiet stage sends fewer, a busy one more
STORAGE_GB_MONTH = 0.25  # DynamoDB standard table storage, USD per GB-month
TARGET_PLATFORM_LINES = 10_000


def _per_line_seconds(results: dict[str, Any]) -> float:
    ingest = results["ingest"]
    return ingest["seconds"] / 1000  # the benchmark's invocations carry 1,000 lines


def cost_lines(results: dict[str, Any]) -> list[tuple[str, str, float]]:
    memory_gb = template().function("IngestApiLogsFunction").memory_size / 1024
    per_line = _per_line_seconds(results)
    retention = float(template().parameters["LogRetentionDays"])
    return [
        (
            "CloudWatch Logs",
            f"the stage's access-log line, about {LINE_BYTES} B (for this stack's routes, already in the API's cost)",
            MILLION * LINE_BYTES / 1e9 * PRICES["logs_gb"],
        ),
        (
            "Lambda requests",
            f"1 ingest invocation per {LINES_PER_INVOCATION} lines (CloudWatch Logs batches them)",
            MILLION / LINES_PER_INVOCATION * PRICES["lambda_request"],
        ),
        (
            "Lambda compute",
            f"{per_line * 1000:.2f} ms per line measured on the emulator × {memory_gb:.2f} GB",
            MILLION * per_line * memory_gb * PRICES["lambda_gb_second_arm"],
        ),
        (
            "DynamoDB writes",
            f"1 WRU per entry (about {ENTRY_BYTES} B), {results['ingest']['batch_writes_per_line'] * 25:g} "
            "BatchWriteItem call per 25",
            MILLION * PRICES["dynamodb_wru"],
        ),
        (
            "DynamoDB storage",
            f"{ENTRY_BYTES} B an entry for `LogRetentionDays` ({retention:g} days)",
            MILLION * ENTRY_BYTES / 1e9 * STORAGE_GB_MONTH * retention / 30,
        ),
    ]


def cost_per_million(results: dict[str, Any]) -> float:
    return sum(usd for _, _, usd in cost_lines(results))


def ingest_ceilings(results: dict[str, Any]) -> dict[str, float]:
    per_invocation = 1 / _per_line_seconds(results)
    shards = float(template().parameters["LogShards"])
    return {
        "per_invocation": per_invocation,
        "invocations_for_target": math.ceil(TARGET_PLATFORM_LINES / per_invocation),
        "per_developer": shards * PARTITION_WCU,
        "table": TABLE_ON_DEMAND,
        "account": LAMBDA_ACCOUNT_CONCURRENCY * per_invocation,
        "shards": shards,
    }


def rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    c = ingest_ceilings(results)
    total = cost_per_million(results)
    return [
        ("cost: per million logged API calls (access-log ingest)", f"${total:.2f}"),
        (
            "scale: API-call log ingest ceiling (lines/s)",
            f"{min(c['table'], c['account']):,.0f} platform-wide (table quota); {c['per_developer']:,.0f} per "
            f"developer; {TARGET_PLATFORM_LINES:,} needs {c['invocations_for_target']:.0f} concurrent invocations",
        ),
    ]


def cost_section(results: dict[str, Any]) -> str:
    table = "| item | counted as | USD |\n|---|---|---:|\n"
    table += "".join(f"| {item} | {how} | {usd:.2f} |\n" for item, how, usd in cost_lines(results))
    table += f"| **total** | | **{cost_per_million(results):.2f}** |\n"
    return f"""
## Per million logged API calls

What logging a platform API's calls adds (`bench/api_call_logs.py`, `bench/api_call_logs_model.py`):
the stage's access-log line, its share of an ingest invocation, and the entry's write. This stack's
own calls were logged by a write of their own before; they now take this path, and the API call's
table above counts it once: its "API-call log" line (the entry's write, the ingest's share, the
entry's storage) and its CloudWatch Logs line (the access-log line). Reading is per page, not per call: a
page of 100 reads about 130 entries unfiltered (one Query per shard, about 9 read units).
Cross-account stages (`LogSourceAccounts`) add Kinesis on-demand: about $0.08 per GB in and out
plus $0.04 an hour for the stream, on a line of its own.

{table}"""


def scale_section(results: dict[str, Any]) -> str:
    c = ingest_ceilings(results)
    big, small = results["big"], results["small"]
    reads_small, reads_big = results["reads_small"], results["reads_big"]
    page_rows = "".join(
        f"| {name} | {sum(reads_small[name]) / len(reads_small[name]):.0f} | "
        f"{sum(reads_big[name]) / len(reads_big[name]):.0f} |\n"
        for name in reads_big
    )
    return f"""
## API-call logs

**Writes.** A developer's entries are spread over `LogShards` ({c["shards"]:g}) partitions (hash key
`developer#n`, shard 0 the plain developer id), chosen by a hash of the log event: one developer
can log {c["per_developer"]:,.0f} calls/s before a partition's {PARTITION_WCU:,} writes/s bind (raise
`LogShards`; never lower it). Time-bucketed keys were the alternative: they spread writes over
time, not at one moment, so a developer's burst would still meet one partition.

**Ingest.** One invocation wrote {c["per_invocation"]:,.0f} lines/s on the emulator (1,000 lines,
BatchWriteItem in 25s, four calls in flight). CloudWatch Logs invokes the function asynchronously
per batch, so invocations run side by side: {TARGET_PLATFORM_LINES:,} lines/s platform-wide needs
{c["invocations_for_target"]:.0f} at once at that rate (against AWS, where a BatchWriteItem takes
milliseconds, fewer). The ceiling is the table's on-demand quota, {c["table"]:,} write units/s =
{c["table"]:,} lines/s (Service Quotas raises it); then the account's {LAMBDA_ACCOUNT_CONCURRENCY:,}
concurrent executions, shared with the API. Cross-account lines pass a Kinesis on-demand stream,
which starts at 4 MB/s (10,000 lines/s) and doubles under load.

**Reads.** A page queries every shard newest first and merges; filters other than the time range
are checked on the entries read, and a page stops after a read budget (20 entries per entry asked
for, 2,000 to 10,000) with a cursor where it stopped. Items read per page of 100, first five pages,
one developer (`bench/api_call_logs.py`):

| filter | {small:,} logs | {big:,} logs |
|---|---:|---:|
{page_rows}
Flat: a page reads what its answer needs, never the developer's history. At 1,000,000 logs of one
developer the same holds: each shard's Query starts at the cursor's position (or `until`) in its
sorted key range, so neither the first nor the thousandth page reads more than the numbers above;
what grows is only how many pages there are. A filter matching under 5% of the calls reads its
budget and may answer short pages (still with a `nextCursor`); narrowing by time keeps them full.
"""
