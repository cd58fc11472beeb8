"""Where throughput stops, component by component: the AWS quota or limit that binds, the events or
posts per second the stack sustains before it does (per developer and in total), and how to lift
it. Computed from the template's parameters and the figures measured in the same `make bench` run;
written to docs/scale.md."""

from dataclasses import dataclass
from typing import Any

from bench import regions
from bench.common import WRITES, template

BATCH = 10
# AWS defaults (us-east-1), as documented; most are soft quotas raised through Service Quotas.
PUT_EVENTS_PER_SECOND = 10_000  # EventBridge PutEvents entries/s per account and region (lower elsewhere)
LAMBDA_ACCOUNT_CONCURRENCY = 1_000  # concurrent executions per account and region, all functions
ESM_MAX_CONCURRENCY = 1_000  # an SQS event source mapping's ceiling (and MaximumConcurrency's maximum)
ESM_RAMP_PER_MINUTE = 300  # concurrency an SQS event source mapping adds per minute under a backlog
PARTITION_RCU = 3_000  # DynamoDB, one partition, read units/s (strongly consistent 4 KB reads)
PARTITION_WCU = 1_000  # DynamoDB, one partition, write units/s (1 KB writes)
TABLE_ON_DEMAND = 40_000  # DynamoDB on-demand, per table, read and write units/s (default quota)
API_ACCOUNT_RPS = 10_000  # API Gateway, steady requests/s per account and region


@dataclass(frozen=True)
class Inputs:
    fanout_batch: float  # seconds for 10 events, measured
    delivery_batch: float  # seconds for 10 posts to 200 ms receivers, measured
    writes_per_delivery: float  # WRU, counted
    queries_uncached: float  # index queries per event, measured, cache off
    queries_cached: float  # the same with the template's cache
    local_throughput: float  # deliveries/s the local stack sustained
    parameters: dict[str, Any]
    hostile: dict[str, Any] | None = None  # bench.fanout_bounds: one tenant's pathological batch


def inputs_from(results: dict[str, dict]) -> Inputs:
    batch = results["delivery_batch"]
    writes = sum(count for name, count in batch["calls_per_delivery"].items() if name.split(":")[1] in WRITES)
    return Inputs(
        fanout_batch=batch["fanout_batch"],
        delivery_batch=batch["batch"],
        writes_per_delivery=writes,
        queries_uncached=results["scaling"]["burst_without_cache"],
        queries_cached=results["scaling"]["burst_with_cache"],
        local_throughput=results["local_e2e"]["throughput"],
        parameters=template().parameters,
        hostile=results.get("fanout_bounds"),
    )


def _p(inputs: Inputs, name: str) -> float:
    return float(inputs.parameters[name])


def ceilings(i: Inputs) -> dict[str, float]:
    fanout_concurrency = _p(i, "FanoutMaxConcurrency")
    delivery_concurrency = _p(i, "DeliveryMaxConcurrency")
    timeout = _p(i, "DeliveryTotalTimeout")
    cache = _p(i, "FanoutCacheSeconds")
    return {
        "fanout_events": fanout_concurrency * BATCH / i.fanout_batch,
        "delivery_posts": delivery_concurrency * BATCH / i.delivery_batch,
        "delivery_posts_slow": delivery_concurrency * BATCH / timeout,
        "delivery_posts_lifted": ESM_MAX_CONCURRENCY * BATCH / i.delivery_batch,
        "webhook_reads_per_developer": PARTITION_RCU,  # one strongly consistent read per post
        "deliveries_per_webhook": PARTITION_WCU / i.writes_per_delivery,
        "deliveries_table": TABLE_ON_DEMAND / i.writes_per_delivery,
        "index_events_uncached": PARTITION_RCU / (0.5 * max(i.queries_uncached, 1e-9)),
        "index_queries_cached": fanout_concurrency / cache if cache else float("inf"),
        "api_per_developer": _p(i, "DeveloperRateLimit"),
        "api_stage": _p(i, "ThrottlingRateLimit"),
    }


def region_ceilings(region: str, i: Inputs) -> list[tuple[str, float]]:
    """The region's quotas that bind before the stack's own parameters do, lowest first."""
    c = ceilings(i)
    return sorted(
        [
            ("the fan-out's concurrency (`FanoutMaxConcurrency`)", c["fanout_events"]),
            (
                "EventBridge invocations of the rule's target",
                regions.quota(region, "eventbridge_invocations_per_second"),
            ),
            ("EventBridge PutEvents (shared by every publisher)", regions.quota(region, "put_events_per_second")),
        ],
        key=lambda item: item[1],
    )


def _regional(i: Inputs) -> str:
    text = ""
    for region in regions.REGIONS:
        binding = region_ceilings(region, i)
        listed = "; ".join(f"{name}: {value:,.0f} events/s" for name, value in binding)
        concurrency = regions.quota(region, "lambda_concurrency")
        text += (
            f"- **{region}**: {listed}. First: {binding[0][0]}. Lambda: {concurrency:,.0f} concurrent executions by "
            "default, but a new account starts lower: check `aws lambda get-account-settings` "
            "(`eventsapi preflight` does) before go-live.\n"
        )
    return text


def rows(i: Inputs) -> list[tuple[str, str]]:
    c = ceilings(i)
    first = min(c["fanout_events"], c["delivery_posts"])
    singapore = region_ceilings("ap-southeast-1", i)[0]
    return [
        ("scale: modelled developer ceiling", "none below 1,000,000 (no per-developer AWS resource)"),
        ("scale: first ceiling in ap-southeast-1 (events/s)", f"{singapore[1]:,.0f}: {singapore[0]}"),
        ("scale: fan-out ceiling at the defaults (events/s)", f"{c['fanout_events']:,.0f}"),
        ("scale: delivery ceiling at the defaults, 200 ms receivers (posts/s)", f"{c['delivery_posts']:,.0f}"),
        ("scale: first ceiling at the defaults (events/s, 1 webhook each)", f"{first:,.0f}"),
    ]


def _components(i: Inputs, c: dict[str, float]) -> str:
    """The table's rows: component, what caps it, what it sustains before it binds, how to lift it."""
    p = i.parameters
    cache = _p(i, "FanoutCacheSeconds")
    rows = [
        (
            "API Gateway",
            f"per developer, a DynamoDB counter: `DeveloperRateLimit` {p['DeveloperRateLimit']} req/s (burst "
            f"{p['DeveloperBurstLimit']}); stage: `ThrottlingRateLimit` {p['ThrottlingRateLimit']} req/s per "
            f"method; account: {API_ACCOUNT_RPS:,} req/s",
            f"{c['api_per_developer']:,.0f} calls/s per developer, {c['api_stage']:,.0f} per method in total",
            "raise the parameters; the account quota through Service Quotas",
        ),
        (
            "Authorizer",
            f"one invocation per API key per `AuthorizerCacheSeconds` ({p['AuthorizerCacheSeconds']} s): "
            "API Gateway caches its answer",
            "not binding",
            "—",
        ),
        (
            "EventBridge",
            f"PutEvents: {PUT_EVENTS_PER_SECOND:,} entries/s per account and region (the platform's "
            "publishers share it)",
            f"{PUT_EVENTS_PER_SECOND:,} events/s in total",
            "Service Quotas; 10 entries per PutEvents call",
        ),
        ("Events queue (SQS standard)", "no throughput quota; 120,000 messages in flight", "not binding", "—"),
        (
            "Fan-out (Lambda)",
            f"the event source mapping's `FanoutMaxConcurrency` = {p['FanoutMaxConcurrency']} batches of "
            f"{BATCH} at once",
            f"{c['fanout_events']:,.0f} events/s in total",
            f"raise `FanoutMaxConcurrency` (up to {ESM_MAX_CONCURRENCY:,}); Lambda adds at most "
            f"{ESM_RAMP_PER_MINUTE} concurrent batches a minute",
        ),
        (
            "`ActiveByEvent` index",
            f"one partition per (developer, event type): {PARTITION_RCU:,} read units/s; an event's Query "
            "reads half a unit (eventually consistent, one small page)",
            f"without the cache, {c['index_events_uncached']:,.0f} events/s per (developer, event type); with "
            f"it (`FanoutCacheSeconds` = {cache:g} s), at most {c['index_queries_cached']:,.1f} queries/s "
            "whatever the rate",
            "the cache; a longer `FanoutCacheSeconds`",
        ),
        (
            "Delivery queue (SQS standard)",
            "no throughput quota; 120,000 in flight (messages being posted); delayed retries are not in flight",
            "not binding",
            "—",
        ),
        (
            "Delivery (Lambda)",
            f"`DeliveryMaxConcurrency` = {p['DeliveryMaxConcurrency']} batches of {BATCH} posts at once, "
            "each as long as its slowest receiver",
            f"{c['delivery_posts']:,.0f} posts/s in total with 200 ms receivers; "
            f"{c['delivery_posts_slow']:,.0f} posts/s if every receiver takes the whole "
            f"`DeliveryTotalTimeout` ({p['DeliveryTotalTimeout']} s)",
            f"raise `DeliveryMaxConcurrency`: at {ESM_MAX_CONCURRENCY:,}, {c['delivery_posts_lifted']:,.0f} "
            "posts/s; then the account's concurrency",
        ),
        (
            "Lambda account",
            f"{LAMBDA_ACCOUNT_CONCURRENCY:,} concurrent executions shared by every function of the account",
            "the two mappings' maxima plus the API's share must stay under it",
            "Service Quotas (tens of thousands are routine)",
        ),
        (
            "Webhooks table",
            f"one partition per developer (hash key `developerId`): {PARTITION_RCU:,} read units/s; each "
            "post reads its webhook once, strongly consistent",
            f"{c['webhook_reads_per_developer']:,.0f} posts/s per developer",
            "eventually consistent reads double it; a short per-invocation cache of webhooks goes further",
        ),
        (
            "Deliveries table",
            f"one partition per webhook (hash key `developer#webhook`): {PARTITION_WCU:,} write units/s, "
            f"{i.writes_per_delivery:g} per post; the table: {TABLE_ON_DEMAND:,} units/s on demand",
            f"{c['deliveries_per_webhook']:,.0f} posts/s per webhook; {c['deliveries_table']:,.0f} posts/s in total",
            "the table quota through Service Quotas (a new on-demand table serves less at first: set warm "
            "throughput before a launch); per webhook, a sharded hash key (a listing then reads every shard)",
        ),
        (
            "API-call logs table",
            f"`LogShards` ({p['LogShards']}) partitions per developer: {PARTITION_WCU:,} writes/s each; "
            f"the table: {TABLE_ON_DEMAND:,} units/s on demand",
            f"{int(p['LogShards']) * PARTITION_WCU:,} logged calls/s per developer; {TABLE_ON_DEMAND:,} in total",
            "raise `LogShards`; the table quota (see API-call logs below)",
        ),
        (
            "KMS (secrets)",
            "one Decrypt of the data key per execution environment (envelope encryption); secrets still sealed by "
            "KMS itself (v1) one per webhook per 5 min per environment",
            "not binding at any concurrency for v2 (1,000 cold environments = 1,000 requests against 20,000/s "
            "shared per account); v1 at high concurrency: alarm `KmsThrottled`",
            "—",
        ),
        (
            "Developers",
            "no per-developer AWS resource: keys, webhooks and rate counters are table items (one counter item "
            f"per developer and window; one partition: {PARTITION_WCU:,} writes/s, far above one developer's limit)",
            "no ceiling below 1,000,000 developers (API Gateway keys would stop at 10,000, not adjustable)",
            "—",
        ),
    ]
    return "".join(f"| {' | '.join(row)} |\n" for row in rows)


def render(i: Inputs) -> str:
    c = ceilings(i)
    cache = _p(i, "FanoutCacheSeconds")
    head, tail = _split_before_regions(_scale_text(i, c, cache))
    return head + ORDERED_SECTION + "\n" + tail


def _split_before_regions(text: str) -> tuple[str, str]:
    """The generated page, cut before its per-region section, so the ordered limits sit with the others."""
    head, sep, tail = text.partition("## Per region")
    return head, sep + tail


def _scale_text(i: Inputs, c: Any, cache: Any) -> str:
    return f"""# Scale model

Generated by `make bench` (`bench/scale_model.py`) from `template.yaml`'s parameters and the figures
measured in the same run: a fan-out batch of 10 events took {i.fanout_batch * 1000:.0f} ms, a delivery
batch of 10 posts to receivers answering in 200 ms took {i.delivery_batch * 1000:.0f} ms, one delivery
writes {i.writes_per_delivery:g} WRU, and the fan-out's index was queried {i.queries_uncached:.3f} times per
event without its cache and {i.queries_cached:.3f} times with it (a burst of 1,000 events of one
developer). Durations are the local emulator's; AWS's calls are of the same order. AWS figures are
the documented defaults in us-east-1; most are soft quotas, raised through Service Quotas.

## Per component

| component | what caps it | sustained before it binds | how to lift it |
|---|---|---|---|
{_components(i, c)}
## Where it binds first

At the template's defaults the first ceiling is the delivery function's concurrency
({c["delivery_posts"]:,.0f} posts/s with 200 ms receivers, {c["delivery_posts_slow"]:,.0f} with receivers that
time out) or the fan-out's ({c["fanout_events"]:,.0f} events/s), whichever traffic reaches first: both are
parameters, chosen low so that a burst queues instead of spending the account's concurrency; SQS
holds the backlog and nothing is lost. Delivery messages carry the developer as their message
group, so SQS fair queues keep one developer's backlog from delaying everyone else's posts.

Raised to the mapping's maximum, the next ceilings are Lambda's account concurrency, then
DynamoDB: {c["deliveries_per_webhook"]:,.0f} posts/s into one webhook (its partition in the
deliveries table), {c["webhook_reads_per_developer"]:,.0f} posts/s for one developer (their partition
in the webhooks table) and {c["deliveries_table"]:,.0f} posts/s for the whole table.

One hot (developer, event type) used to be the first DynamoDB ceiling: every event queried the same
index partition. The fan-out now keeps each subscription list for `FanoutCacheSeconds` ({cache:g} s),
so that partition sees at most {c["index_queries_cached"]:,.1f} queries a second in total, whatever
the event rate; the price is that a webhook created or changed takes up to {cache:g} s to receive
events.

{_events_queue(i)}
## Per region

The quotas that differ by region (`bench/regions.py`, with sources); the event rate at which each
binds, with one webhook per event:

{_regional(i)}
EventBridge delays and retries deliveries to the events queue beyond its invocations quota; events
older than 24 hours go to the events dead-letter queue (alarmed). Raise it through Service Quotas
before a launch in a region where it binds first.

For reference, the local stack (every function in one Python process on a 2-core machine, moto as
the emulator) sustained {i.local_throughput:,.0f} deliveries/s: a property of the emulator, not of AWS.
"""


ORDERED_SECTION = """## Ordered webhooks (opt-in: `ordering`)

- **One in flight per key.** A key's posts go one after another: each hands the key to the next
  through the delivery queue, so one key moves at about one post per (receiver answer + queue
  round trip), tens a second on AWS; keys move in parallel, bounded by the delivery function's
  concurrency like any post. A key that needs more than that is two keys.
- **A webhook's ordering state is one partition** of the deliveries table (`developer#webhook#~order`):
  about 5 writes and 4 reads an ordered post, so a single partition's 1,000 WRU/s carries about
  200 ordered posts a second per webhook before DynamoDB's adaptive capacity splits it (the sort
  keys begin with the key's digest, so a split spreads the keys evenly).
- **Waiting costs no receives.** A delivery waiting for its window or behind its key's head is
  sent again with a delay (never hidden and received again), so waiting never counts toward the
  queue's maxReceiveCount; a key stalled for hours keeps one kick per waiting delivery in the queue,
  each back every 15 minutes at most (SQS's longest delay) until the head settles.
- **`windowMs` ≤ 60 s** (one SQS delay, no hops). Events that arrive later than their window behind
  a later one of their key are delivered at once, marked `X-Webhook-Out-Of-Order: true`.
- **Keys ≤ 256 characters** of JSON text; a longer value, or no value, is delivered unordered.
- `block` keys list 100 at a time (`GET …/ordering`, `more` when others follow).
"""


def _events_queue(i: Inputs) -> str:
    """Why the events queue has no message group, and why one tenant still cannot hold a batch."""
    text = """## One tenant's events share the events queue

EventBridge puts events on the events queue, and its SQS target (`SqsParameters`) takes one fixed
`MessageGroupId` per target, up to 100 characters, used for SQS fair and FIFO queues: nothing in
it is taken from the event, so every developer's events would share one group, which buys no
fairness. One rule per developer would, but a bus holds 300 rules by default and the platform has
more developers than that. So the events queue carries no message group, and the fan-out instead
bounds what one record can cost the batch it arrives in:

- a payload over 4 KB is stored once and the messages name it, so a record queues about 1 KB per
  webhook whatever its event (not up to 256 KB per webhook);
- an event over the filter budget is dead-lettered once, naming the webhooks it skipped;
- records run smallest first, each with a time budget (8 s); one that runs out, or that the
  invocation has no time left for, goes back alone as a batch-item failure (partial batch
  response), and the batch's other records are done.
"""
    if i.hostile:
        from bench.fanout_bounds import rows as hostile_rows  # the same words as make bench prints

        text += "\nMeasured in this run (`bench/fanout_bounds.py`):\n\n| figure | value |\n|---|---|\n"
        text += "".join(f"| {name} | {value} |\n" for name, value in hostile_rows(i.hostile))
    return text
