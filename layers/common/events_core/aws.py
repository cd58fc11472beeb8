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
