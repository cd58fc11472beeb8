"""The quotas and list prices the cost and scale models use, per region, with where each figure comes
from. No price API is reachable from here, so the table is checked in and dated: update it from the
named sources when AWS changes a price or a default quota. Two regions: us-east-1 (the standing
cost targets are stated there) and ap-southeast-1 (samconfig.toml's default deploy region).

`confirmed` figures are quoted from the AWS pages named in `SOURCES` (and, for EventBridge, PutEvents
and API keys, by the deploy review of 2026-11-30); `recalled` figures are AWS's published values as
last read, not re-checked for this table: confirm them before a budget depends on them."""

from dataclasses import dataclass

AS_OF = "2026-11"


@dataclass(frozen=True)
class Figure:
    value: float
    source: str  # a key of SOURCES
    confirmed: bool


@dataclass(frozen=True)
class Region:
    name: str
    prices: dict[str, Figure]  # USD per unit, the keys of bench.cost_model.PRICES
    quotas: dict[str, Figure]  # per account and region, defaults


SOURCES = {
    "eb-pricing": "Amazon EventBridge pricing page (custom events)",
    "sqs-pricing": "Amazon SQS pricing page (standard queues)",
    "lambda-pricing": "AWS Lambda pricing page (Arm)",
    "ddb-pricing": "Amazon DynamoDB pricing page, on-demand capacity (after the November 2024 reduction)",
    "apigw-pricing": "Amazon API Gateway pricing page, REST APIs, first 333 million",
    "xray-pricing": "AWS X-Ray pricing page, traces recorded",
    "cw-pricing": "Amazon CloudWatch pricing page (logs ingestion, custom metrics, alarms, dashboards)",
    "kms-pricing": "AWS KMS pricing page",
    "eb-quotas": "Amazon EventBridge User Guide, quotas: invocations throttle limit and PutEvents, by region",
    "lambda-quotas": "AWS Lambda Developer Guide, quotas (new accounts start lower and are raised with use)",
    "apigw-quotas": "Amazon API Gateway Developer Guide, quotas: API keys per account and region, not adjustable",
}


def _same(value: float, source: str, confirmed: bool = True) -> Figure:
    return Figure(value, source, confirmed)


_US_EAST_1_PRICES = {
    "eventbridge_event": _same(1.00 / 1e6, "eb-pricing"),
    "sqs_request": _same(0.40 / 1e6, "sqs-pricing"),
    "lambda_request": _same(0.20 / 1e6, "lambda-pricing"),
    "lambda_gb_second_arm": _same(0.0000133334, "lambda-pricing"),
    "dynamodb_wru": _same(0.625 / 1e6, "ddb-pricing"),
    "dynamodb_rru": _same(0.125 / 1e6, "ddb-pricing"),
    "api_gateway_rest_call": _same(3.50 / 1e6, "apigw-pricing"),
    "xray_trace": _same(5.00 / 1e6, "xray-pricing"),
    "logs_gb": _same(0.50, "cw-pricing"),
    "custom_metric_month": _same(0.30, "cw-pricing"),
    "alarm_month": _same(0.10, "cw-pricing"),
    "dashboard_month": _same(3.00, "cw-pricing"),
    "kms_key_month": _same(1.00, "kms-pricing"),
    "kms_request": _same(0.03 / 10_000, "kms-pricing"),  # symmetric Decrypt, GenerateDataKey, Encrypt
}

REGIONS = {
    "us-east-1": Region(
        "us-east-1",
        _US_EAST_1_PRICES,
        {
            "eventbridge_invocations_per_second": _same(18_750, "eb-quotas"),
            "put_events_per_second": _same(10_000, "eb-quotas"),
            "lambda_concurrency": _same(1_000, "lambda-quotas"),
            "api_keys": _same(10_000, "apigw-quotas"),
        },
    ),
    "ap-southeast-1": Region(
        "ap-southeast-1",
        {
            **_US_EAST_1_PRICES,
            # Higher in Singapore; recalled, not re-checked (see the module's docstring).
            "dynamodb_wru": _same(0.7125 / 1e6, "ddb-pricing", confirmed=False),
            "dynamodb_rru": _same(0.1425 / 1e6, "ddb-pricing", confirmed=False),
            "logs_gb": _same(0.70, "cw-pricing", confirmed=False),
            "lambda_request": _same(0.20 / 1e6, "lambda-pricing", confirmed=False),
            "lambda_gb_second_arm": _same(0.0000133334, "lambda-pricing", confirmed=False),
            "api_gateway_rest_call": _same(3.50 / 1e6, "apigw-pricing", confirmed=False),
            "sqs_request": _same(0.40 / 1e6, "sqs-pricing", confirmed=False),
            "xray_trace": _same(5.00 / 1e6, "xray-pricing", confirmed=False),
            "custom_metric_month": _same(0.30, "cw-pricing", confirmed=False),
        },
        {
            "eventbridge_invocations_per_second": _same(2_250, "eb-quotas"),
            "put_events_per_second": _same(2_400, "eb-quotas", confirmed=False),
            "lambda_concurrency": _same(1_000, "lambda-quotas"),
            "api_keys": _same(10_000, "apigw-quotas"),
        },
    ),
}
DEFAULT = "us-east-1"


def prices(region: str = DEFAULT) -> dict[str, float]:
    return {name: figure.value for name, figure in REGIONS[region].prices.items()}


def quota(region: str, name: str) -> float:
    return REGIONS[region].quotas[name].value


def table(region: str) -> str:
    """The region's figures as a markdown table, with each one's source."""
    r = REGIONS[region]
    rows = [("price", name, figure) for name, figure in r.prices.items()]
    rows += [("quota", name, figure) for name, figure in r.quotas.items()]
    text = "| kind | figure | value | source |\n|---|---|---:|---|\n"
    for kind, name, figure in rows:
        shown = f"{figure.value * 1e6:g} per million" if figure.value < 0.001 else f"{figure.value:,g}"
        status = "" if figure.confirmed else " (recalled: confirm)"
        text += f"| {kind} | `{name}` | {shown} | {SOURCES[figure.source]}{status} |\n"
    return text
