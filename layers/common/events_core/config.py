"""Settings, read once from the environment the template gives every function (see Globals)."""

import ipaddress
import os
from dataclasses import dataclass
from functools import cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _networks(value: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip())


def _seconds(value: str) -> tuple[float, ...]:
    return tuple(float(part) for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    webhooks_table: str = ""
    api_logs_table: str = ""
    api_keys_table: str = ""
    deliveries_table: str = ""
    idempotency_table: str = ""
    delivery_queue_url: str = ""
    events_dlq_url: str = ""
    delivery_dlq_url: str = ""
    event_bus_name: str = "platform-events"
    event_source: str = "cn.invoratec.platform"
    log_retention_days: int = 30
    max_body_bytes: int = 64 * 1024
    # Local runs admit http:// and loopback receivers; a deployed stack admits neither by default.
    allow_http_urls: bool = False
    allowed_private_networks: tuple[Network, ...] = ()
    # Delivery: waits before attempts 2..N (the first is immediate), scaled for local runs.
    retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    retry_delay_scale: float = 1.0
    failure_threshold: int = 20
    connect_timeout: float = 3.0
    total_timeout: float = 10.0
    response_cap_bytes: int = 4096
    delivery_concurrency: int = 10

    @classmethod
    def from_env(cls, env: os._Environ | dict[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        get = env.get
        return cls(
            webhooks_table=get("WEBHOOKS_TABLE", ""),
            api_logs_table=get("API_LOGS_TABLE", ""),
            api_keys_table=get("API_KEYS_TABLE", ""),
            deliveries_table=get("DELIVERIES_TABLE", ""),
            idempotency_table=get("IDEMPOTENCY_TABLE", ""),
            delivery_queue_url=get("DELIVERY_QUEUE_URL", ""),
            events_dlq_url=get("EVENTS_DLQ_URL", ""),
            delivery_dlq_url=get("DELIVERY_DLQ_URL", ""),
            event_bus_name=get("EVENT_BUS_NAME", "platform-events"),
            event_source=get("EVENT_SOURCE", "cn.invoratec.platform"),
            log_retention_days=int(get("LOG_RETENTION_DAYS", "30")),
            max_body_bytes=int(get("MAX_BODY_BYTES", str(64 * 1024))),
            allow_http_urls=_flag(get("ALLOW_HTTP_URLS", "false")),
            allowed_private_networks=_networks(get("ALLOWED_PRIVATE_NETWORKS", "")),
            retry_schedule=_seconds(get("RETRY_SCHEDULE", "")) or DEFAULT_RETRY_SCHEDULE,
            retry_delay_scale=float(get("RETRY_DELAY_SCALE", "1")),
            failure_threshold=int(get("FAILURE_THRESHOLD", "20")),
            connect_timeout=float(get("DELIVERY_CONNECT_TIMEOUT", "3")),
            total_timeout=float(get("DELIVERY_TOTAL_TIMEOUT", "10")),
            response_cap_bytes=int(get("DELIVERY_RESPONSE_CAP_BYTES", "4096")),
            delivery_concurrency=int(get("DELIVERY_CONCURRENCY", "10")),
        )

    @property
    def max_attempts(self) -> int:
        return len(self.retry_schedule) + 1


@cache
def settings() -> Settings:
    return Settings.from_env()
