"""Settings, read once from the environment the template gives every function (see Globals).

Each setting is declared once here, with the template parameter that feeds it; a template test
checks that every parameter's default in template.yaml is the default here, so the two cannot drift.
"""

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_RETRY_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _networks(value: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip())


SCHEMA_ENFORCEMENT = ("off", "warn", "reject")


def _enforcement(value: str) -> str:
    chosen = value.strip().lower()
    if chosen not in SCHEMA_ENFORCEMENT:
        raise ValueError(f"SCHEMA_ENFORCEMENT must be one of {', '.join(SCHEMA_ENFORCEMENT)}, got {value!r}")
    return chosen


def _seconds(value: str) -> tuple[float, ...]:
    return tuple(float(part) for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Setting:
    """Where a setting comes from: its environment variable, the template parameter behind it
    (None for wiring the template computes, like table names), and how its text is read."""

    env: str
    parameter: str | None = None
    parse: Callable[[str], Any] = str


def _setting(default: Any, env: str, parameter: str | None = None, parse: Callable[[str], Any] = str) -> Any:
    return field(default=default, metadata={"source": Setting(env, parameter, parse)})


# The dataclass writes no __init__, __repr__, __eq__ or __hash__ of its own: for this many fields the
# code it would generate costs milliseconds to compile in every cold start; these loops do the same.
@dataclass(frozen=True, init=False, repr=False, eq=False)
class Settings:
    # Wiring: physical names the template passes in.
    webhooks_table: str = _setting("", "WEBHOOKS_TABLE")
    api_logs_table: str = _setting("", "API_LOGS_TABLE")
    api_keys_table: str = _setting("", "API_KEYS_TABLE")
    deliveries_table: str = _setting("", "DELIVERIES_TABLE")
    listen_table: str = _setting("", "LISTEN_TABLE")
    idempotency_table: str = _setting("", "IDEMPOTENCY_TABLE")
    payloads_table: str = _setting("", "PAYLOADS_TABLE")
    delivery_queue_url: str = _setting("", "DELIVERY_QUEUE_URL")
    events_dlq_url: str = _setting("", "EVENTS_DLQ_URL")
    delivery_dlq_url: str = _setting("", "DELIVERY_DLQ_URL")
    event_bus_name: str = _setting("", "EVENT_BUS_NAME")
    secrets_key_id: str = _setting("", "SECRETS_KEY_ID")
    delivery_fault_queue_url: str = _setting("", "DELIVERY_FAULT_QUEUE_URL")
    rate_counters_table: str = _setting("", "RATE_COUNTERS_TABLE")
    control_table: str = _setting("", "CONTROL_TABLE")
    expunge_queue_url: str = _setting("", "EXPUNGE_QUEUE_URL")
    # Behaviour: template parameters.
    event_source: str = _setting("cn.invoratec.platform", "EVENT_SOURCE", "EventSource")
    log_retention_days: int = _setting(30, "LOG_RETENTION_DAYS", "LogRetentionDays", int)
    # Partitions a developer's API-call logs are written across (each takes 1,000 writes a second).
    log_shards: int = _setting(8, "LOG_SHARDS", "LogShards", int)
    max_body_bytes: int = _setting(64 * 1024, "MAX_BODY_BYTES", None, int)
    # Local runs admit http:// and loopback receivers; a deployed stack admits neither by default.
    allow_http_urls: bool = _setting(False, "ALLOW_HTTP_URLS", "AllowHttpUrls", _flag)
    allowed_private_networks: tuple[Network, ...] = _setting(
        (), "ALLOWED_PRIVATE_NETWORKS", "AllowedPrivateNetworks", _networks
    )
    # Delivery: waits before attempts 2..N (the first is immediate), scaled for local runs.
    retry_schedule: tuple[float, ...] = _setting(DEFAULT_RETRY_SCHEDULE, "RETRY_SCHEDULE", "RetrySchedule", _seconds)
    retry_delay_scale: float = _setting(1.0, "RETRY_DELAY_SCALE", "RetryDelayScale", float)
    max_retry_after: int = _setting(86400, "MAX_RETRY_AFTER_SECONDS", "MaxRetryAfterSeconds", int)
    failure_threshold: int = _setting(25, "FAILURE_THRESHOLD", "FailureThreshold", int)
    circuit_probe_seconds: float = _setting(60.0, "CIRCUIT_PROBE_SECONDS", "CircuitProbeSeconds", float)
    circuit_max_open_seconds: int = _setting(259200, "CIRCUIT_MAX_OPEN_SECONDS", "CircuitMaxOpenSeconds", int)
    connect_timeout: float = _setting(3.0, "DELIVERY_CONNECT_TIMEOUT", "DeliveryConnectTimeout", float)
    total_timeout: float = _setting(10.0, "DELIVERY_TOTAL_TIMEOUT", "DeliveryTotalTimeout", float)
    response_cap_bytes: int = _setting(1024, "DELIVERY_RESPONSE_CAP_BYTES", None, int)
    delivery_concurrency: int = _setting(10, "DELIVERY_CONCURRENCY", None, int)
    stats_interval: int = _setting(60, "STATS_INTERVAL_SECONDS", "StatsIntervalSeconds", int)
    # How long an execution environment may keep health figures before writing them (events_core.stats).
    stats_flush_seconds: int = _setting(60, "STATS_FLUSH_SECONDS", "StatsFlushSeconds", int)
    # Webhooks.
    max_webhooks_per_developer: int = _setting(100, "MAX_WEBHOOKS_PER_DEVELOPER", "MaxWebhooksPerDeveloper", int)
    secret_overlap_seconds: int = _setting(86400, "SECRET_OVERLAP_SECONDS", "SecretOverlapSeconds", int)
    secret_cache_seconds: int = _setting(300, "SECRET_CACHE_SECONDS", "SecretCacheSeconds", int)
    fanout_cache_seconds: float = _setting(5.0, "FANOUT_CACHE_SECONDS", "FanoutCacheSeconds", float)
    # Per-developer rate (events_core.rate_limit): `burst` calls per window of burst/rate seconds.
    developer_rate_limit: float = _setting(10.0, "DEVELOPER_RATE_LIMIT", "DeveloperRateLimit", float)
    developer_burst_limit: int = _setting(20, "DEVELOPER_BURST_LIMIT", "DeveloperBurstLimit", int)
    # Posts a developer asks for (recover, redeliver, test): token buckets per developer and webhook.
    post_budget_per_minute: float = _setting(600.0, "POST_BUDGET_PER_MINUTE", "PostBudgetPerMinute", float)
    post_budget_burst: int = _setting(1000, "POST_BUDGET_BURST", "PostBudgetBurst", int)
    webhook_post_budget_per_minute: float = _setting(
        300.0, "WEBHOOK_POST_BUDGET_PER_MINUTE", "WebhookPostBudgetPerMinute", float
    )
    webhook_post_budget_burst: int = _setting(500, "WEBHOOK_POST_BUDGET_BURST", "WebhookPostBudgetBurst", int)
    # off | optional | required: whether a receiver must prove it wants the posts (webhooks.verification).
    endpoint_verification: str = _setting("off", "ENDPOINT_VERIFICATION", "EndpointVerification")
    # Where verify links point (the stage's own URL unless VerifyLinkBase names another), never
    # taken from a request's headers.
    verify_link_base: str = _setting("", "VERIFY_LINK_BASE", None)
    # Events whose data does not match their type's schema: off | warn | reject (events_core.catalogue).
    schema_enforcement: str = _setting("warn", "SCHEMA_ENFORCEMENT", "SchemaEnforcement", _enforcement)

    def __init__(self, **values: Any) -> None:
        unknown = values.keys() - set(_NAMES)
        if unknown:
            raise TypeError(f"Settings got unexpected fields: {', '.join(sorted(unknown))}")
        for item in fields(self):
            object.__setattr__(self, item.name, values.get(item.name, item.default))

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _NAMES)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _NAMES)
        return f"Settings({shown})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for item in fields(cls):
            source: Setting = item.metadata["source"]
            raw = env.get(source.env)
            if raw is not None and raw != "":
                values[item.name] = source.parse(raw)
        return cls(**values)

    def expires_at(self, at_ms: int) -> int:
        """When something written at `at_ms` expires (DynamoDB TTL, epoch seconds)."""
        return at_ms // 1000 + self.log_retention_days * 86400

    @classmethod
    def sources(cls) -> dict[str, tuple[Setting, Any]]:
        """Field name → (where it comes from, its default): what the template test compares."""
        return {item.name: (item.metadata["source"], item.default) for item in fields(cls)}

    @property
    def max_attempts(self) -> int:
        return len(self.retry_schedule) + 1


_NAMES = tuple(item.name for item in fields(Settings))


@cache
def settings() -> Settings:
    return Settings.from_env()
