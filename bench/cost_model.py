"""AWS list-price cost per million events delivered, line by line, from the template's memory sizes
and the measured durations. Written to docs/cost.md by `make bench`."""

import math
from dataclasses import dataclass

from bench import regions
from bench.common import READS, WRITES, template
from events_core.delivery.queues import MAX_DELAY_SECONDS
from events_core.records.payloads import INLINE_PAYLOAD_BYTES

# AWS list prices per unit, by region, with their sources: bench/regions.py. us-east-1 by default.
PRICES = regions.prices()
MILLION = 1_000_000
BATCH = 10


TARGET_EVENTS = 3.50  # USD per million events delivered
TARGET_API = 5.00  # USD per million API calls
LAMBDA_TRACED = 0.05  # Lambda's own sampling of invocations no traced caller started (beyond 1/s)
ACCESS_LOG_BYTES = 400  # one API Gateway access-log line (template.yaml's format, filled in)
INGEST_LOG_BYTES = 400  # the ingest function's metrics line an invocation (system log level WARN: no REPORT)


@dataclass(frozen=True)
class Measured:
    """What the benchmarks measured in this run."""

    fanout_batch: float  # seconds: one fan-out invocation on a batch of 10 events
    delivery_batch: float  # seconds: one delivery invocation on 10 posts (receiver answering in 200 ms)
    api_call: float  # seconds: one API request, handler included
    calls_per_delivery: dict[str, float]  # "service:Operation" → items per delivery
    calls_per_event: dict[str, float]  # the fan-out's, per event
    log_bytes_per_delivery: float
    log_bytes_per_event: float
    log_ingest_per_line: float = 0.00205  # seconds of the ingest function per access-log line
    kms_per_1000_posts: float = 0.0  # KMS requests at the fixed spread (bench.kms_spread), data-key format
    kms_per_1000_posts_v1: float = 0.0  # the same with every secret still sealed by KMS itself
    stats_writes_per_delivery: float = 0.0  # health aggregates' ADDs (bench.stats: kept per environment)
    stats_flush_seconds: int = 60


def measured_from(results: dict[str, dict]) -> Measured:
    batch = results["delivery_batch"]
    return Measured(
        fanout_batch=batch["fanout_batch"],
        delivery_batch=batch["batch"],
        api_call=results["local_e2e"]["api_p50"],
        calls_per_delivery=batch["calls_per_delivery"],
        calls_per_event=batch["calls_per_event"],
        log_bytes_per_delivery=batch["log_bytes_per_delivery"],
        log_bytes_per_event=batch["log_bytes_per_event"],
        log_ingest_per_line=results["api_call_logs"]["ingest"]["seconds"] / 1000,  # 1,000 lines an invocation
        kms_per_1000_posts=batch["kms"]["v2"]["per_1000_posts"],
        kms_per_1000_posts_v1=batch["kms"]["v1"]["per_1000_posts"],
        stats_writes_per_delivery=results.get("stats", {}).get("writes_per_delivery", 0.0),
        stats_flush_seconds=results.get("stats", {}).get("flush_seconds", 60),
    )


def _memory_gb(logical_id: str) -> float:
    return template().function(logical_id).memory_size / 1024


def _billed(seconds: float) -> float:
    return math.ceil(seconds * 1000) / 1000  # Lambda bills by the millisecond


def _dynamodb(calls: dict[str, float], names: frozenset[str]) -> tuple[float, str]:
    found = {name.split(":")[1]: count for name, count in calls.items() if name.split(":")[1] in names}
    return sum(found.values()), " + ".join(f"{count:g} {name}" for name, count in found.items()) or "none"


STRONG_READS = READS - {"Query"}


def lines(m: Measured, region: str = regions.DEFAULT) -> list[tuple[str, str, float]]:
    """(item, how it is counted, USD per million events delivered)."""
    prices = regions.prices(region)
    invocations = MILLION / BATCH
    fanout_gbs = invocations * _billed(m.fanout_batch) * _memory_gb("FanoutFunction")
    delivery_gbs = invocations * _billed(m.delivery_batch) * _memory_gb("DeliverFunction")
    # events queue: EventBridge's SendMessage per event, receives and deletes per batch of 10;
    # delivery queue: the fan-out's one SendMessageBatch per batch, receives and deletes per batch.
    sqs_requests = MILLION + 2 * invocations + invocations + 2 * invocations
    writes, write_calls = _dynamodb(m.calls_per_delivery, WRITES)
    strong, strong_calls = _dynamodb(m.calls_per_delivery, STRONG_READS)
    queries, _ = _dynamodb(m.calls_per_event, frozenset({"Query"}))
    read_units = strong + 0.5 * queries  # the fan-out's Query is eventually consistent: half a unit
    log_gb = MILLION * (m.log_bytes_per_delivery + m.log_bytes_per_event) / 1e9
    traces = 2 * invocations * LAMBDA_TRACED
    return [
        ("EventBridge PutEvents", "1 custom event each", MILLION * prices["eventbridge_event"]),
        (
            "SQS",
            f"{sqs_requests / 1e6:.1f} M requests: the rule's send per event; per batch of 10, the fan-out's "
            "SendMessageBatch and each queue's receive and delete",
            sqs_requests * prices["sqs_request"],
        ),
        (
            "Lambda requests",
            f"{2 * invocations / 1e6:.1f} M invocations (fan-out + delivery, batches of 10)",
            2 * invocations * prices["lambda_request"],
        ),
        (
            "Lambda fan-out compute",
            f"{m.fanout_batch * 1000:.0f} ms per batch × {_memory_gb('FanoutFunction'):.2f} GB",
            fanout_gbs * prices["lambda_gb_second_arm"],
        ),
        (
            "Lambda delivery compute",
            f"{m.delivery_batch * 1000:.0f} ms per batch of 10 × {_memory_gb('DeliverFunction'):.2f} GB",
            delivery_gbs * prices["lambda_gb_second_arm"],
        ),
        (
            "DynamoDB writes",
            f"{writes:g} WRU per delivery, counted: {write_calls} (the lease, which is the duplicate "
            "guard, and the attempt's record)",
            writes * MILLION * prices["dynamodb_wru"],
        ),
        (
            "DynamoDB reads",
            f"{read_units:g} RRU per delivery, counted: {strong_calls} (the webhook, strongly consistent) "
            f"+ {queries:g} Query per event (the fan-out's index, eventually consistent; no cache hits counted)",
            read_units * MILLION * prices["dynamodb_rru"],
        ),
        (
            "X-Ray",
            f"{traces / 1e6:.2f} M traces: Lambda samples {LAMBDA_TRACED:.0%} of queue-triggered invocations",
            traces * prices["xray_trace"],
        ),
        (
            "CloudWatch Logs",
            f"{m.log_bytes_per_delivery:.0f} B per delivery + {m.log_bytes_per_event:.0f} B per event at INFO, "
            "measured (one line per post, metrics included)",
            log_gb * prices["logs_gb"],
        ),
        (
            "KMS requests",
            f"{m.kms_per_1000_posts:.3f} per 1,000 posts, counted at a fixed spread (`bench/kms_spread.py`: 10,000 "
            "webhooks, Zipf(1.1) rates, 1 M posts a day, 20 environments living 4 h): one Decrypt of the data key "
            f"per environment. Secrets still sealed by KMS itself (v1) cost {m.kms_per_1000_posts_v1:.0f} per 1,000 "
            f"(+${m.kms_per_1000_posts_v1 * 1000 * prices['kms_request']:.2f}) "
            "until resealed (`eventsapi secrets reseal`)",
            m.kms_per_1000_posts * 1000 * prices["kms_request"],
        ),
        (
            "Health figures (GET …/stats)",
            f"{m.stats_writes_per_delivery * 1000:.1f} WRU per 1,000 deliveries (`bench/stats.py`): one ADD per "
            f"(webhook, minute) per execution environment, figures kept up to {m.stats_flush_seconds} s "
            f"(`StatsFlushSeconds`); assumed: an environment under load takes full batches of 10 posts, each to "
            "its own webhook, one every 268 ms (the delivery batch measured above), so about "
            f"{1 / m.stats_writes_per_delivery if m.stats_writes_per_delivery else 0:.0f} deliveries per write "
            "(written every batch instead: 1 WRU per webhook-batch, $0.06 to $0.63)",
            m.stats_writes_per_delivery * MILLION * prices["dynamodb_wru"],
        ),
    ]


def rate_limit_batch() -> int:
    """k: the calls an execution environment counts before one write, at the template's defaults."""
    from events_core.config import Settings
    from events_core.rate_limit import batch

    p = template().parameters
    rate, burst = float(p["DeveloperRateLimit"]), int(p["DeveloperBurstLimit"])
    return batch(Settings(developer_rate_limit=rate, developer_burst_limit=burst))


def call_log_line(m: Measured, region: str = regions.DEFAULT) -> tuple[str, str, float]:
    """The call's API-call log entry: written by the ingest function from the access-log line (the
    line itself is the API's CloudWatch Logs line), no longer by the handler."""
    from bench.api_call_logs_model import ENTRY_BYTES, LINES_PER_INVOCATION, STORAGE_GB_MONTH

    prices = regions.prices(region)
    memory = _memory_gb("IngestApiLogsFunction")
    retention = float(template().parameters["LogRetentionDays"])
    usd = (
        prices["dynamodb_wru"]
        + prices["lambda_request"] / LINES_PER_INVOCATION
        + m.log_ingest_per_line * memory * prices["lambda_gb_second_arm"]
        + INGEST_LOG_BYTES / LINES_PER_INVOCATION / 1e9 * prices["logs_gb"]
        + ENTRY_BYTES / 1e9 * STORAGE_GB_MONTH * retention / 30
    )
    return (
        "API-call log (access-log ingest)",
        f"1 WRU (the entry, about {ENTRY_BYTES} B, written by the ingest function) + 1/{LINES_PER_INVOCATION} "
        f"ingest invocation + {m.log_ingest_per_line * 1000:.2f} ms × {memory:.2f} GB (emulator) + its metrics "
        f"line, about {INGEST_LOG_BYTES} B an invocation + the entry's storage for `LogRetentionDays` "
        f"({retention:g} days)",
        MILLION * usd,
    )


def api_lines(m: Measured, region: str = regions.DEFAULT) -> list[tuple[str, str, float]]:
    prices = regions.prices(region)
    gbs = MILLION * _billed(m.api_call) * _memory_gb("ListEventTypesFunction")
    rate = float(template().parameters["TracingSampleRate"])
    k = rate_limit_batch()
    return [
        ("API Gateway REST", "1 call", MILLION * prices["api_gateway_rest_call"]),
        (
            "Lambda",
            f"1 invocation, {m.api_call * 1000:.1f} ms × 0.25 GB (authorizer cached 5 min: negligible)",
            MILLION * prices["lambda_request"] + gbs * prices["lambda_gb_second_arm"],
        ),
        (
            "DynamoDB",
            "about 1 RRU (the call's own read; the handler writes no log entry)",
            MILLION * prices["dynamodb_rru"],
        ),
        call_log_line(m, region),
        (
            RATE_LIMIT_LINE,
            f"at most 1 WRU per {k} calls: each execution environment adds a developer's calls to the window's "
            f"counter every {k} calls (events_core.rate_limit); refused calls and quiet developers write nothing",
            MILLION * prices["dynamodb_wru"] / k,
        ),
        (
            "X-Ray",
            f"{rate:.0%} of calls traced (the stage's sampling rule, TracingSampleRate)",
            MILLION * rate * prices["xray_trace"],
        ),
        (
            "CloudWatch Logs",
            f"one access-log line, about {ACCESS_LOG_BYTES} B (handlers log nothing at INFO on success)",
            MILLION * ACCESS_LOG_BYTES / 1e9 * prices["logs_gb"],
        ),
    ]


def retry_lines(m: Measured, region: str = regions.DEFAULT) -> list[tuple[str, str, float]]:
    """(item, how it is counted, USD per million retries): what one more attempt of a failing
    delivery adds, waiting included. Its wait is a delayed message, hopping every 15 minutes."""
    prices = regions.prices(region)
    schedule = [int(s) for s in str(template().parameters["RetrySchedule"]).split(",")]
    hops = sum(math.ceil(delay / MAX_DELAY_SECONDS) - 1 for delay in schedule) / len(schedule)
    sqs = 0.3 * (1 + hops)  # each leg: a send, a receive and a delete, batched by 10
    delivery_gbs = MILLION / BATCH * _billed(m.delivery_batch) * _memory_gb("DeliverFunction")
    return [
        (
            "SQS",
            f"{sqs:.1f} requests a retry: the delayed message and, on average over `RetrySchedule`, {hops:.0f} "
            "15-minute hops (SQS delays at most 15 minutes), each sent, received and deleted in batches of 10",
            MILLION * sqs * prices["sqs_request"],
        ),
        (
            "Lambda",
            "the retry's share of a delivery invocation (batches of 10) and of the hops' invocations",
            MILLION / BATCH * (1 + hops) * prices["lambda_request"] + delivery_gbs * prices["lambda_gb_second_arm"],
        ),
        (
            "DynamoDB",
            "4 WRU: the lease, the record, its `FailedByWebhook` index entry, the webhook's `failCount`; 1 RRU: "
            "the webhook",
            MILLION * (4 * prices["dynamodb_wru"] + prices["dynamodb_rru"]),
        ),
        (
            "CloudWatch Logs",
            f"{m.log_bytes_per_delivery:.0f} B: the attempt's line",
            MILLION * m.log_bytes_per_delivery / 1e9 * prices["logs_gb"],
        ),
    ]


def throttle_lines(m: Measured) -> list[tuple[str, str, float]]:
    """(item, how it is counted, USD per million throttled deliveries): what a post to a
    rate-limited webhook adds when it has to wait for its slot (opt-in: `rateLimit`)."""
    memory = _memory_gb("DeliverFunction")
    return [
        (
            "SQS",
            "1.2 requests: the message sent again, delayed to its slot (once: `bench/throttle.py` counts the "
            "sends), then received and deleted in batches of 10",
            MILLION * 1.2 * PRICES["sqs_request"],
        ),
        (
            "Lambda",
            "a tenth of a delivery invocation more, and up to a second's wait for a near slot shared by the batch",
            MILLION / BATCH * (PRICES["lambda_request"] + 1.0 * memory * PRICES["lambda_gb_second_arm"]),
        ),
        (
            "DynamoDB",
            "3 WRU: the slot (one write; a second when the environment guessed the queue's state wrong), "
            "the `throttled` record; it posts at its slot with no pacing write",
            MILLION * 3 * PRICES["dynamodb_wru"],
        ),
        (
            "CloudWatch Logs",
            f"{m.log_bytes_per_delivery:.0f} B: the throttled hop's line",
            MILLION * m.log_bytes_per_delivery / 1e9 * PRICES["logs_gb"],
        ),
    ]


# What events_core.ordering adds to one delivery to an ordered webhook whose event has the key,
# counted from its code (events_core/ordering/sequencer.py, state.py) for the common case: the
# event arrives alone, waits its window, is posted by its own kick and hands the key on.
ORDERED_WRU = 5  # registration put (its message, ≤ 1 KB), claim, queue-item delete, key release, a raced claim
ORDERED_RRU = 4  # strongly consistent, ≤ 4 KB each: the key's state twice, its next waiting delivery twice
ORDERED_SQS = 2.4  # the window's delayed kick (send, receive, delete; sends one by one) and the hand-over's kick


def ordered_lines() -> list[tuple[str, str, float]]:
    """(item, how it is counted, USD per million ordered deliveries), on top of the delivery line.
    A webhook without `ordering`, and an event without its key, pay none of this."""
    memory = _memory_gb("DeliverFunction")
    return [
        (
            "DynamoDB writes",
            f"{ORDERED_WRU} WRU: the delivery registered in its key's queue (its message, ≤ 1 KB), the key's claim"
            " (conditional on its revision), the queue item deleted and the key released at settle, one spare"
            " for a claim that raced",
            MILLION * ORDERED_WRU * PRICES["dynamodb_wru"],
        ),
        (
            "DynamoDB reads",
            f"{ORDERED_RRU} RRU: strongly consistent reads of one small item each (the key's state twice, its"
            " next waiting delivery twice)",
            MILLION * ORDERED_RRU * PRICES["dynamodb_rru"],
        ),
        (
            "SQS",
            f"{ORDERED_SQS} requests: the window's wait as a delayed kick (sent alone, received and deleted in"
            " batches) and the hand-over to the key's next delivery, with a share of kicks that found the key busy",
            MILLION * ORDERED_SQS * PRICES["sqs_request"],
        ),
        (
            "Lambda",
            "the kick is one more message of a delivery batch: a tenth of an invocation",
            MILLION / BATCH * (PRICES["lambda_request"] + 0.05 * memory * PRICES["lambda_gb_second_arm"]),
        ),
        (
            "DynamoDB storage",
            "a month of a million keys' state items (about 200 B each, kept LogRetentionDays after their last"
            " write); waiting items leave at settle",
            0.2e-6 * MILLION * PRICES.get("dynamodb_gb_month", 0.25),
        ),
    ]


# events_core.history.service.RECOVER_CHUNK: recover takes its chunk's tokens in one go.
RECOVER_CHUNK = 25


def asked_for_post_lines() -> list[tuple[str, str, float]]:
    """(item, how it is counted, USD per million posts a developer asks for): the post budget
    (events_core.budgets) and the bounded test history. Event deliveries never pay these."""
    take = 2 * PRICES["dynamodb_rru"] + 2 * PRICES["dynamodb_wru"]  # both buckets read and written
    return [
        (
            "post budget, recover",
            f"one take (2 strongly consistent reads, 2 conditional writes) per chunk of {RECOVER_CHUNK} posts",
            MILLION * take / RECOVER_CHUNK,
        ),
        ("post budget, redeliver or test send", "one take per post: 2 RRU + 2 WRU", MILLION * take),
        (
            "test history bound (test sends only)",
            "2 ControlTable updates (the ring) + 1 delete of the record pushed out: 3 WRU",
            MILLION * 3 * PRICES["dynamodb_wru"],
        ),
    ]


def cursor_lines(calls_per_cold_start: int = 1000) -> list[tuple[str, str, float]]:
    """(item, how it is counted, USD per million paged API calls): signing and opening cursors."""
    return [
        ("cursor HMAC-SHA256", "a few microseconds of CPU per page: below a billed millisecond", 0.0),
        (
            "cursor key",
            f"1 RRU per cold start, kept for the environment (1 cold start per {calls_per_cold_start:,} calls)",
            MILLION / calls_per_cold_start * PRICES["dynamodb_rru"],
        ),
    ]


def listen_lines() -> list[tuple[str, str, float]]:
    """(item, how it is counted, USD per hour): one `eventsapi listen` session waiting an hour with
    nothing to forward — the long poll's cost floor. Each forwarded delivery adds about 8 WRU (two
    transactions: put in the session, answered) and one result call."""
    from events_core.listen.requests import MAX_WAIT_SECONDS
    from events_core.listen.service import POLL_EVERY_SECONDS, RENEW_EVERY_MS

    polls = 3600 / MAX_WAIT_SECONDS
    queries = math.ceil(MAX_WAIT_SECONDS / POLL_EVERY_SECONDS)
    renewals = 3600 * 1000 / RENEW_EVERY_MS
    gb_seconds = polls * MAX_WAIT_SECONDS * _memory_gb("NextListenDeliveriesFunction")
    return [
        (
            "API Gateway",
            f"{polls:.0f} long polls (`wait={MAX_WAIT_SECONDS}`) and their access-log lines",
            polls * (PRICES["api_gateway_rest_call"] + ACCESS_LOG_BYTES / 1e9 * PRICES["logs_gb"]),
        ),
        (
            "Lambda",
            f"{polls:.0f} invocations of {MAX_WAIT_SECONDS} s each (a long poll is billed while it waits): "
            f"{gb_seconds:.0f} GB-s",
            polls * PRICES["lambda_request"] + gb_seconds * PRICES["lambda_gb_second_arm"],
        ),
        (
            "DynamoDB",
            f"{polls * (0.5 * queries + 2):.0f} RRU (the session and the poll slots' Query, then a Query of the "
            f"ReadyByTime index, eventually consistent, every {POLL_EVERY_SECONDS} s of each poll: leased items are "
            f"not read); {polls * 5 + renewals:.0f} WRU (the API-call log line, 2 poll slots taken and given back, "
            "the session's renewal at most once a minute)",
            polls * (0.5 * queries + 2) * PRICES["dynamodb_rru"] + (polls * 5 + renewals) * PRICES["dynamodb_wru"],
        ),
    ]


CLAIM_BYTES = 150  # an idempotency claim item: hashed key, event id, time, data hash, expiry


def keyed_lines(m: Measured) -> list[tuple[str, str, float]]:
    """(item, how it is counted, USD per million events published with an idempotency key), on top
    of the event's own delivery. An event without a key pays none of this."""
    return [
        (
            "DynamoDB",
            f"1 WRU: the claim, one conditional PutItem of about {CLAIM_BYTES} B in `IdempotencyTable` "
            "(a repeat reads the first event back from the same refused write: no extra read)",
            MILLION * PRICES["dynamodb_wru"],
        ),
        (
            "DynamoDB index",
            "1 WRU: the claim's entry in the keys-only `ByDeveloper` index, by which off-boarding and "
            "export find a developer's claims (the data map)",
            MILLION * PRICES["dynamodb_wru"],
        ),
        (
            "DynamoDB storage",
            "claims expire after 24 h (TTL deletes are free): about 0.15 GB-day per million keys",
            0.15 / 30 * 0.25,
        ),
    ]


RECORD_BYTES = 470  # a delivery record without its payload (see the assumptions)
SQS_CHUNK = 64 * 1024


def payload_usd(size: int, webhooks: int, *, stored: bool) -> float:
    """USD per million deliveries of a `size`-byte payload, each event going to `webhooks`
    webhooks, first attempts: what differs between carrying it inline and storing it once (the
    record's write, the message's SQS chunks, and for a stored one its write and its reads)."""
    if stored:
        per_delivery = (
            (1 + math.ceil(size / 1024) / webhooks) * PRICES["dynamodb_wru"]  # the record; the payload, shared
            + math.ceil(size / 4096) * PRICES["dynamodb_rru"]  # read, strongly consistent
            + 3 * PRICES["sqs_request"]  # a 1 KB message: sent, received, deleted
        )
    else:
        per_delivery = (
            math.ceil((RECORD_BYTES + size) / 1024) * PRICES["dynamodb_wru"]
            + 3 * math.ceil((size + 600) / SQS_CHUNK) * PRICES["sqs_request"]
        )
    return per_delivery * MILLION


def payload_table() -> str:
    text = "| payload | webhooks per event | inline | stored once |\n|---|---:|---:|---:|\n"
    for size in (1024, INLINE_PAYLOAD_BYTES, 16 * 1024, 64 * 1024, 240 * 1024):
        for webhooks in (1, 100):
            inline, stored = (payload_usd(size, webhooks, stored=flag) for flag in (False, True))
            text += f"| {size // 1024} KB | {webhooks} | {inline:.2f} | {stored:.2f} |\n"
    return text


def _table(rows: list[tuple[str, str, float]]) -> str:
    text = "| item | counted as | USD |\n|---|---|---:|\n"
    text += "".join(f"| {item} | {how} | {usd:.2f} |\n" for item, how, usd in rows)
    return text + f"| **total** | | **{sum(usd for _, _, usd in rows):.2f}** |\n"


def _table4(rows: list[tuple[str, str, float]]) -> str:
    text = "| item | counted as | USD |\n|---|---|---:|\n"
    text += "".join(f"| {item} | {how} | {usd:.4f} |\n" for item, how, usd in rows)
    return text + f"| **total** | | **{sum(usd for _, _, usd in rows):.4f}** |\n"


def totals(m: Measured, region: str = regions.DEFAULT) -> tuple[float, float]:
    return sum(u for _, _, u in lines(m, region)), sum(u for _, _, u in api_lines(m, region))


RATE_LIMIT_LINE = "Per-developer rate limit"
# The per-developer limit's options, per million calls at us-east-1 prices, and the developers each
# reaches in one account and region (docs/operators.md "Limits" gives the reasoning).
RATE_LIMIT_OPTIONS = [
    (
        "DynamoDB counter per developer and window, written every k = 5 calls per environment (chosen)",
        "+0.2 WRU at most",
        0.125,
        "none",
        "exact in one environment; at most E × (k − 1) calls over per window across E environments",
    ),
    ("the same counter written on every call (before)", "+1 WRU", 0.625, "none", "exact per window"),
    (
        "counts from the access-log ingest, a cached 'blocked until' read by the API",
        "+0.5 RRU + 1 WRU per developer and ingest batch",
        0.07,
        "none",
        "lags by the log subscription's delivery (seconds or more): cannot hold a 2 s window",
    ),
    ("API Gateway usage-plan key per developer (before)", "free", 0.0, "10,000 keys, not adjustable", "best effort"),
    (
        "WAF rate-based rule keyed on X-API-Key",
        "+$0.60/M + $5/month ACL + $1/rule",
        0.60,
        "none",
        "≥ 60 s windows, approximate",
    ),
    (
        "HTTP API instead of REST ($1.00/M against $3.50/M)",
        "−$2.50/M",
        -2.50,
        "none (no usage plans)",
        "needs the counter too",
    ),
]


def developer_ceiling() -> str:
    """No developer owns an AWS resource: keys, webhooks and counters are items in tables."""
    return "none (no per-developer AWS resource; usage-plan keys stopped at 10,000)"


def fixed_monthly(region: str = regions.DEFAULT) -> list[tuple[str, str, float]]:
    """What the stack costs a month whatever the traffic (storage left out: it follows the traffic)."""
    import ast

    from bench.common import template as parsed

    prices = regions.prices(region)
    t = parsed()
    emitted = set()
    for path in [*(t.root / "layers").rglob("*.py"), *(t.root / "functions").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_metric":
                emitted |= {
                    k.value.value for k in node.keywords if k.arg == "name" and isinstance(k.value, ast.Constant)
                }
    functions = len(t.function_logical_ids())
    metrics = len(emitted) + functions  # each business metric once, ColdStart once per function
    alarms = t.of_type("AWS::CloudWatch::Alarm")
    # CloudWatch prices an alarm per metric it reads: a metric-math alarm costs each of its metrics.
    alarm_metrics = sum(
        max(1, sum(1 for m in alarm.get("Metrics", []) if "MetricStat" in m)) for alarm in alarms.values()
    )
    # API Gateway's detailed metrics (MetricsEnabled) publish 5 series per method.
    detailed = 5 * sum(
        1
        for api in t.of_type("AWS::ApiGateway::Stage").values()
        for setting in api.get("MethodSettings", [])
        if setting.get("MetricsEnabled") and setting.get("HttpMethod") != "*"
    )
    return [
        (
            "CloudWatch custom metrics",
            f"{metrics}: {len(emitted)} business metrics (dimension service) + ColdStart × {functions} functions",
            metrics * prices["custom_metric_month"],
        ),
        (
            "API Gateway detailed metrics",
            f"{detailed}: the listen long poll's own method (ApiLatencyAlarm leaves it out)",
            detailed * prices["custom_metric_month"],
        ),
        (
            "CloudWatch alarms",
            f"{len(alarms)} standard-resolution alarms reading {alarm_metrics} metrics",
            alarm_metrics * prices["alarm_month"],
        ),
        ("CloudWatch dashboard", "1", prices["dashboard_month"]),
        (
            "KMS key",
            'the secrets\' key (envelope encryption: its requests are the per-million "KMS requests" line)',
            prices["kms_key_month"],
        ),
        (
            "X-Ray reservoir",
            f"the stage's sampling rule records the first request each second (ReservoirSize 1) whatever "
            f"TracingSampleRate says: up to {RESERVOIR_TRACES_MONTH / 1e6:.1f} M traces a month on a busy stage, "
            "before X-Ray's free 100,000 (a quiet stage, below about 1 call a second, traces every call "
            "instead: its calls' X-Ray line is 100 %)",
            RESERVOIR_TRACES_MONTH * prices["xray_trace"],
        ),
    ]


RESERVOIR_TRACES_MONTH = 86_400 * 30  # one a second, every second of a 30-day month
SPANS_PER_DELIVERY = 3  # the event's fan-out (one event, one webhook here), its queue wait, its attempt
EXPORT_SECONDS_PER_BATCH = 0.02  # one OTLP/HTTP POST per invocation to a collector in the region
OTEL_IMPORT_SECONDS = 0.085  # opentelemetry API + SDK, imported once per execution environment when on


def tracing_lines() -> list[tuple[str, str, float]]:
    """(item, how it is counted, USD per million events delivered) with span export on
    (TraceExportEndpoint), on top of the default path. Off, none of this exists: every post still
    carries its traceparent, made without OpenTelemetry."""
    batches = 2 * MILLION / 10  # a fan-out and a delivery invocation per 10 events, each exports once
    gbs = batches * EXPORT_SECONDS_PER_BATCH * 0.25
    return [
        (
            "Lambda compute",
            f"one OTLP/HTTP POST of the invocation's spans at its end (~{EXPORT_SECONDS_PER_BATCH * 1000:.0f} ms "
            f"to a collector in the region, per batch of 10, fan-out and delivery) + {SPANS_PER_DELIVERY} spans "
            f"per delivery; the SDK's import (~{OTEL_IMPORT_SECONDS * 1000:.0f} ms) once per cold start",
            gbs * PRICES["lambda_gb_second_arm"],
        ),
        (
            "Trace backend",
            "through AWS's OpenTelemetry collector layer to X-Ray: one trace per event at X-Ray's "
            "traces-recorded price (a collector of your own: its own price instead)",
            MILLION * PRICES["xray_trace"],
        ),
    ]


def rows(m: Measured) -> list[tuple[str, str]]:
    events, api = totals(m)
    limiter = next(usd for item, _, usd in api_lines(m) if item == RATE_LIMIT_LINE)
    singapore_events, singapore_api = totals(m, "ap-southeast-1")
    return [
        (
            "rate limit: DynamoDB counter, per million API calls",
            f"${limiter:.3f} at most (1 write per {rate_limit_batch()} calls; included in the API total)",
        ),
        ("rate limit: modelled developer ceiling", developer_ceiling()),
        (
            "cost: ap-southeast-1 (samconfig's region), events / API calls per million",
            f"${singapore_events:.2f} / ${singapore_api:.2f}  (some prices recalled: bench/regions.py)",
        ),
        (
            "cost: per million events delivered (KMS requests included)",
            f"${events:.2f}  (target ≤ ${TARGET_EVENTS:.2f}: {'ok' if events <= TARGET_EVENTS else 'OVER'})",
        ),
        (
            "cost: per million events published with an idempotency key (on top)",
            f"${sum(u for _, _, u in keyed_lines(m)):.2f}",
        ),
        (
            "cost: per million API calls",
            f"${api:.2f}  (target ≤ ${TARGET_API:.2f}: {'ok' if api <= TARGET_API else 'OVER'})",
        ),
        (
            "cost: per million ordered deliveries (on top; opt-in: a webhook's ordering)",
            f"${sum(u for _, _, u in ordered_lines()):.2f}",
        ),
        ("cost: one listening hour (eventsapi listen, idle; opt-in)", f"${sum(u for *_, u in listen_lines()):.4f}"),
        (
            "cost: per million events delivered with span export on (on top; opt-in)",
            f"${sum(u for _, _, u in tracing_lines()):.2f}",
        ),
    ]


def _options() -> str:
    text = "| mechanism | price | USD per million calls | developers per account and region | exactness |\n"
    text += "|---|---|---:|---|---|\n"
    return text + "".join(f"| {n} | {p} | {u:+.3f} | {c} | {e} |\n" for n, p, u, c, e in RATE_LIMIT_OPTIONS)


def _region_section(d: Measured, region: str) -> str:
    events, api = totals(d, region)
    return f"""## {region}

Totals: **${events:.2f}** per million events delivered, **${api:.2f}** per million API calls (lines as
above, at this region's prices); fixed costs a month:

{_table(fixed_monthly(region))}
Prices and quotas used, with their sources (`bench/regions.py`, as of {regions.AS_OF}):

{regions.table(region)}
"""


def render(d: Measured) -> str:
    return f"""# Cost model

Generated by `make bench` (`bench/cost_model.py`) from the memory sizes in `template.yaml` and
the durations, calls and log bytes the benchmarks measured in the same run. AWS list prices, us-east-1 unless a
section names another region (`bench/regions.py`, with sources); on-demand everything, no free tier.

## Per million events delivered

{_table(lines(d))}
## Per million API calls

{_table(api_lines(d))}
## The per-developer rate limit: options

One API Gateway key per developer stops at 10,000 developers per account and region (not
adjustable) and usage-plan throttling is best effort, so each developer's calls are counted in a
DynamoDB item per developer and window instead, each execution environment adding its calls every
k = {rate_limit_batch()} calls (docs/operators.md "Limits"). Written on every call it cost a write unit a call
and took the API over $5.00; batched, a developer below k calls a window in an environment writes
nothing, and a developer's calls over the allowance are refused without a write. The price of the
batch: across E environments serving one developer at once, up to E × (k − 1) calls over the
allowance in a window; one environment alone (and the local stack) is exact.

{_options()}
## Per million retries

A failing post waits for its next attempt as a delayed SQS message, never as a received and hidden
one, so a dead receiver does not fill the delivery queue's in-flight limit; the price is the hops.

{_table(retry_lines(d))}
## Per million throttled deliveries (opt-in: a webhook's `rateLimit`)

A post to a rate-limited webhook takes its slot once and, when the slot is more than a second
away, waits for it as the same message sent again with a delay — never as a hop a second. An
unthrottled post to a limited webhook adds only its slot's write (1 WRU, $0.63).

{_table(throttle_lines(d))}
## Per million ordered deliveries (opt-in: a webhook's `ordering`)

A webhook with `ordering` keeps, per key, a head and a queue of waiting deliveries in the
deliveries table (its own partition per webhook: `events_core/ordering/state.py`). On top of the
delivery line above, per delivery whose event carries the key (counted from the code, common case:
the event waits its window, its own kick posts it, it hands the key on). Unordered webhooks, and
events without the key, pay nothing: the worker never reads or writes ordering state for them.

{_table(ordered_lines())}
## Posts a developer asks for, and paged calls

Recover, redeliver and test sends spend a per-developer and per-webhook post budget (token buckets
in the ControlTable); event deliveries and their retries never touch it, so the lines above are
unchanged. Per million posts asked for (on top of the API call that asked; a post pays one of the
first two lines, a test send also the third, so the total is the dearest case):

{_table(asked_for_post_lines())}
Pagination cursors are signed with a key of the stack, read once per execution environment (no
KMS call per page). Per million paged API calls (on top of the API call line above):

{_table(cursor_lines())}

## Per listening hour (opt-in: `eventsapi listen`)

A developer's CLI long-polls its session; nothing else runs for it. Priced per hour of an idle
session (the floor), in USD to four places. Each delivery forwarded adds two DynamoDB
transactions (put in the session with its history record, then answered: about 8 WRU), the
session's record ring (2 WRU) and one result call; the event's payload is stored once however many
sessions take it; developers who are not listening pay nothing (the fan-out learns it from the
index it already reads).

{_table4(listen_lines())}

## Large payloads: where the line is

A payload up to {INLINE_PAYLOAD_BYTES:,} bytes travels inline, in the delivery message and the
delivery record (the default path above, unchanged). A larger one is stored once per event, in the
payloads table, and the messages and records name it (`events_core/records/payloads.py`). Below,
USD per million first-attempt deliveries for what differs between the two (the record's write, the
message's SQS requests, and for a stored payload its one write per event and a strongly consistent
read per attempt). For an event with one webhook, inline is a few percent cheaper at every size
(no extra read); with many webhooks, storing once is cheaper from 1 KB up, and far cheaper for large
payloads (and with retries: each attempt rewrites an inline payload with its record). The line at
4 KB keeps the default path exactly as it was and bounds the copies one event makes to its
webhooks × 4 KB; past it, an event with one webhook pays about 3 % more, one with 100 up to 14× less.

{payload_table()}

## Per million events published with an idempotency key

Opt-in: only events whose producer sets `detail.idempotencyKey` pay this, on top of their delivery
above. A repeat of a key (a producer's retried PutEvents) pays its own EventBridge event and
fan-out again, and its posts stop at the delivery records' lease (one write per webhook, no post);
a repeat with different data stops at the claim, in the events dead-letter queue.

{_table(keyed_lines(d))}
## Per million events delivered with span export on (opt-in: `TraceExportEndpoint`)

Every post carries a W3C `traceparent` whatever this setting, made without OpenTelemetry (nothing
above changes). With an OTLP/HTTP endpoint set, the functions also record their spans — the
event's fan-out, each delivery's wait in the queue and each attempt, the API's calls and their
store calls — and send them at the end of each invocation. On top of the delivery line above:

{_table(tracing_lines())}
## Assumptions

- One matching webhook per event, every post succeeds on its first attempt, payloads up to about
  550 B: a delivery record is about 470 B plus its payload, so it stays under 1 KB (one WRU a
  write); each further KB of payload adds one WRU to the record's write (not to the lease's).
  Bodies under 64 KB are one billing chunk for EventBridge and SQS. The DynamoDB and log
  lines are counted, not guessed: `bench/delivery_batch.py` counts the calls (and the items in
  batched calls) one delivery makes, and the bytes the functions write to their logs.
- A retry adds a delayed SQS message, the lease and the record again (2 WRU, plus 1 for the
  `FailedByWebhook` index while the delivery is failing), a `failCount` update and a share of a
  delivery invocation. A webhook's `lastTriggered` is written at most once per `StatsIntervalSeconds`
  (it is not rewritten on every success), so it is left out at volume.
- Lambda durations are those measured locally in this run (fan-out on a batch of 10 events:
  {d.fanout_batch * 1000:.0f} ms; delivery of a batch of 10 to a receiver answering in 200 ms:
  {d.delivery_batch * 1000:.0f} ms; API call: {d.api_call * 1000:.1f} ms), against the local emulator; real
  DynamoDB and SQS calls are of the same order. Delivery time is dominated by the receivers'
  answers: a receiver taking 1 s costs about five times the compute line.
- Full batches of 10 on both queues. Lambda's SQS pollers also make empty long-poll receives while
  the queues are idle: a fixed cost of well under a dollar a month per queue, left out.
- The fan-out's Query is counted for every event; its cache (`FanoutCacheSeconds`) makes a busy
  (developer, event type) read the index once per few seconds instead, which only lowers the line.
- X-Ray: the API stage's sampling rule traces `TracingSampleRate` of the calls beyond its reservoir
  of one a second (a fixed cost, priced in each region's section); the functions follow the
  caller's decision; queue-triggered functions are sampled by Lambda itself. No X-Ray SDK runs in
  the functions: these are Lambda's and API Gateway's own segments.
- Not counted: data transfer out to receivers (the posts themselves); storage and point-in-time
  recovery of the tables (they follow the traffic: the deliveries table holds each payload for
  `LogRetentionDays`); the DLQs while empty. Fixed monthly costs are in each region's section.

{_region_section(d, "us-east-1")}
{_region_section(d, "ap-southeast-1")}"""
