"""AWS clients, created once and lazily, and replaceable in tests (`use`)."""

from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# Fail fast inside a Lambda's time budget rather than hang on a slow dependency.
_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
_overrides: dict[str, Any] = {}


@cache
def _client(service: str) -> Any:
    return boto3.client(service, config=_CONFIG)  # type: ignore[call-overload]


@cache
def _dynamodb_resource() -> Any:
    return boto3.resource("dynamodb", config=_CONFIG)


def client(service: str) -> Any:
    return _overrides.get(service) or _client(service)


def table(name: str) -> Any:
    """A DynamoDB Table resource by its physical name."""
    resource = _overrides.get("dynamodb-resource") or _dynamodb_resource()
    return resource.Table(name)


def use(service: str, instance: Any) -> None:
    """Inject a client (tests); `dynamodb-resource` replaces the Table factory."""
    _overrides[service] = instance


def reset() -> None:
    """Forget every client, so the next use builds fresh ones (for example inside a new moto mock)."""
    _overrides.clear()
    _client.cache_clear()
    _dynamodb_resource.cache_clear()


def conditional_check_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
