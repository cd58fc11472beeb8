"""AWS clients, created once and lazily. Tests point them at moto (the environment they run in)
and call `reset` to forget them; a store or box also takes an injected table or client."""

from collections.abc import Callable
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from events_core import tracing  # light: tracing_export (the OpenTelemetry SDK) only when export is on

# Fail fast inside a Lambda's time budget rather than hang on a slow dependency.
# A delivery batch makes its calls from up to DELIVERY_CONCURRENCY threads at once.
_CONFIG = Config(
    connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=32
)
_forget: list[Callable[[], None]] = []


def per_environment[Made: Callable[..., Any]](factory: Made) -> Made:
    """Build once per execution environment (warm invocations reuse it); `reset` forgets it too."""
    cached = cache(factory)
    _forget.append(cached.cache_clear)
    return cached  # type: ignore[return-value]


@per_environment
def client(service: str) -> Any:
    return _traced(boto3.client(service, config=_CONFIG))


@per_environment
def _dynamodb_resource() -> Any:
    resource = boto3.resource("dynamodb", config=_CONFIG)
    _traced(resource.meta.client)
    return resource


def _traced(made: Any) -> Any:
    """With span export on, each call the client makes inside one of our spans is a span too."""
    if tracing.exporting():
        from events_core import tracing_export

        tracing_export.instrument(made.meta.events)
    return made


def table(name: str) -> Any:
    """A DynamoDB Table resource by its physical name."""
    return _dynamodb_resource().Table(name)


def reset() -> None:
    """Forget every client and everything built on them, so the next use builds fresh ones (for
    example inside a new moto mock)."""
    for forget in _forget:
        forget()


def conditional_check_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def conditional_update(table: Any, **update: Any) -> bool:
    """One conditional UpdateItem on `table`: False when its condition did not hold."""
    try:
        table.update_item(**update)
    except ClientError as error:
        if conditional_check_failed(error):
            return False
        raise
    return True


class LazyTable:
    """A DynamoDB table attribute named by a setting: created on first use, unless a table was
    assigned (tests inject one), so importing a store never touches AWS or the environment."""

    def __init__(self, setting: str):
        self.setting = setting

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        found = instance.__dict__.get(self.slot)
        if found is None:
            from events_core.config import settings  # config does not import aws; keep it that way

            found = instance.__dict__[self.slot] = table(getattr(settings(), self.setting))
        return found

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.slot] = value
