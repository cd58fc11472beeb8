"""AWS list-price cost per million events delivered, line by line, from the template's memory sizes
and the measured durations. Written to docs/cost.md by `make bench`."""

import math
from dataclasses import dataclass

from eventsapi.local.template import Template
from eventsapi.local.wiring import REGION, STACK_NAME, TEMPLATE

# AWS list prices, us-east-1, as published in 2025 (per unit).
PRICES = {
    "eventbridge_event": 1.00 / 1e6,  # custom events, per 64 KB chunk
    "sqs_request": 0.40 / 1e6,  # standard queue, per 64 KB chunk
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second_arm": 0.0000133334,
    "dynamodb_wru": 0.625 / 1e6,  # on-demand write request unit
    "dynamodb_rru": 0.125 / 1e6,  # on-demand read request unit
    "api_gateway_rest_call": 3.50 / 1e6,  # first 333 M calls a month
    "xray_trace": 5.00 / 1e6,  # traces recorded
    "logs_gb": 0.50,  # CloudWatch Logs ingestion
}
MILLION = 1_000_000
BATCH = 10


@dataclass(frozen=True)
class Durations:
    """Seconds of billed Lambda time, as measured by the benchmarks."""

    fanout_batch: float  # one fan-out invocation on a batch of 10 events
    delivery_batch: float  # one delivery invocation on a batch of 10 posts (receiver answering in 200 ms)
    api_call: float  # one API request, handler included


def durations_from(results: dict[str, dict]) -> Durations:
    return Durations(
        fanout_batch=results["delivery_batch"]["fanout_batch"],
        delivery_batch=results["delivery_batch"]["batch"],
        api_call=results["local_e2e"]["api_p50"],
    )


def _memory_gb(logical_id: str) -> float:
    return Template(TEMPLATE, stack_name=STACK_NAME, region=REGION).function(logical_id).memory_size / 1024


def _billed(seconds: float) -> float:
    return math.ceil(seconds * 1000) / 1000  # Lambda bills by the millisecond


def lines(d: Durations) -> list[tuple[str, str, float]]:
    """(item, how it is counted, USD per million events delivered)."""
    invocations = MILLION / BATCH
    fanout_gbs = invocations * _billed(d.fanout_batch) * _memory_gb("FanoutFunction")
    delivery_gbs = invocations * _billed(d.delivery_batch) * _memory_gb("DeliverFunction")
    sqs_requests = MILLION + 2 * invocations + MILLION + 2 * invocations
    log_gb = MILLION * 2 * 600 / 1e9
    return [
        ("EventBridge PutEvents", "1 custom event each", MILLION * PRICES["eventbridge_event"]),
        (
            "SQS",
            f"{sqs_requests / 1e6:.1f} M requests: rule → events queue, 1 SendMessageBatch per event, "
            "receives and deletes in batches of 10",
            sqs_requests * PRICES["sqs_request"],
        ),
        (
            "Lambda requests",
            f"{2 * invocations / 1e6:.1f} M invocations (fan-out + delivery, batches of 10)",
            2 * invocations * PRICES["lambda_request"],
        ),
        (
            "Lambda fan-out compute",
            f"{d.fanout_batch * 1000:.0f} ms per batch × {_memory_gb('FanoutFunction'):.2f} GB",
            fanout_gbs * PRICES["lambda_gb_second_arm"],
        ),
        (
            "Lambda delivery compute",
            f"{d.delivery_batch * 1000:.0f} ms per batch of 10 × {_memory_gb('DeliverFunction'):.2f} GB",
            delivery_gbs * PRICES["lambda_gb_second_arm"],
        ),
        (
            "DynamoDB writes",
            "4 WRU per delivery: idempotency put + complete, attempt record, webhook stats",
            4 * MILLION * PRICES["dynamodb_wru"],
        ),
        (
            "DynamoDB reads",
            "1.5 RRU per delivery: fan-out Query (eventual), webhook GetItem (strong)",
            1.5 * MILLION * PRICES["dynamodb_rru"],
        ),
        ("X-Ray", f"{2 * invocations / 1e6:.1f} M traces (Tracing: Active)", 2 * invocations * PRICES["xray_trace"]),
        ("CloudWatch Logs", "about 2 log lines of 600 B per delivery at INFO", log_gb * PRICES["logs_gb"]),
    ]


def api_lines(d: Durations) -> list[tuple[str, str, float]]:
    gbs = MILLION * _billed(d.api_call) * _memory_gb("ListEventTypesFunction")
    return [
        ("API Gateway REST", "1 call", MILLION * PRICES["api_gateway_rest_call"]),
        (
            "Lambda",
            f"1 invocation, {d.api_call * 1000:.1f} ms × 0.25 GB (authorizer cached 5 min: negligible)",
            MILLION * PRICES["lambda_request"] + gbs * PRICES["lambda_gb_second_arm"],
        ),
        (
            "DynamoDB",
            "1 WRU (the call log) + about 1 RRU (the call's own read)",
            MILLION * (PRICES["dynamodb_wru"] + PRICES["dynamodb_rru"]),
        ),
        ("X-Ray", "1 trace", MILLION * PRICES["xray_trace"]),
    ]


def _table(rows: list[tuple[str, str, float]]) -> str:
    text = "| item | counted as | USD |\n|---|---|---:|\n"
    text += "".join(f"| {item} | {how} | {usd:.2f} |\n" for item, how, usd in rows)
    return text + f"| **total** | | **{sum(usd for _, _, usd in rows):.2f}** |\n"


def summary(d: Durations) -> str:
    return (
        f"  per million events delivered: ${sum(u for _, _, u in lines(d)):.2f}; "
        f"per million API calls: ${sum(u for _, _, u in api_lines(d)):.2f}"
    )


def render(d: Durations) -> str:
    return f"""# Cost model

Generated by `make bench` (`bench/cost_model.py`) from the memory sizes in `template.yaml` and
the durations the benchmarks measured in the same run. AWS list prices, us-east-1, as published
in 2025; on-demand everything, no free tier.

## Per million events delivered

{_table(lines(d))}
## Per million API calls

{_table(api_lines(d))}
## Assumptions

- One matching webhook per event, bodies under 1 KB (one 64 KB billing chunk everywhere), every
  post succeeds on its first attempt. A retry adds one delivery invocation share, an attempt
  record and a webhook update (about 2 WRU) and a ChangeMessageVisibility request.
- Lambda durations are those measured locally by `bench/delivery_batch.py` (fan-out on a batch of
  10 events: {d.fanout_batch * 1000:.0f} ms; delivery of a batch of 10 to a receiver answering in
  200 ms: {d.delivery_batch * 1000:.0f} ms) and `bench/local_e2e.py` (API call: {d.api_call * 1000:.1f} ms),
  against the local emulator; real DynamoDB and SQS calls are of the same order. Delivery time is
  dominated by the receivers' answers: a receiver taking 1 s costs about five times the compute line.
- Full batches of 10 on both queues. Lambda's SQS pollers also make empty long-poll receives while
  the queues are idle: a fixed cost of well under a dollar a month per queue, left out.
- DynamoDB: item reads under 4 KB and writes under 1 KB; the sparse `ActiveByEvent` index is not
  written by delivery updates (it projects only `filterJson`). TTL deletions are free.
- Not counted: data transfer out to receivers (the posts themselves), CloudWatch metrics and
  alarms (two alarms: a fixed $0.20 a month), KMS (SQS- and DynamoDB-managed keys are free).
"""
