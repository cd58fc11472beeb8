"""Fixtures: the template's resources on moto in-process, and its API behind the local gateway.

Everything is built from template.yaml, so a route, table or queue added there is tested here
with no other change.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from events_core import aws
from events_core.api_keys import ApiKeyStore
from events_core.config import settings
from eventsapi.gateway import LocalGateway
from eventsapi.invoke import LocalFunction
from eventsapi.local_stack import (
    FAKE_CREDENTIALS,
    REGION,
    STACK_NAME,
    TEMPLATE,
    function_environment,
    local_functions,
)
from eventsapi.provision import Provisioner
from eventsapi.template import Template
from moto import mock_aws

from tests.builders import Answer


class ScanIssued(AssertionError):
    pass


def _refuse_scan(**_: Any) -> None:
    raise ScanIssued("code issued a DynamoDB Scan; every access pattern must be a Query or GetItem")


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")


@dataclass
class Stack:
    template: Template
    functions: dict[str, LocalFunction]
    gateway: LocalGateway

    def key(self, developer: str = "user_123", scopes: tuple[str, ...] = ("read", "write")) -> str:
        return ApiKeyStore().create(developer, scopes).key

    def call(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        if key is not None:
            sent["X-API-Key"] = key
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        if payload:
            sent.setdefault("Content-Type", "application/json")
        answer = self.gateway.handle(method, path, list(sent.items()), payload, "127.0.0.1")
        return Answer(answer.status, answer.headers, answer.body)

    def invoke(self, logical_id: str, event: dict) -> Any:
        return self.functions[logical_id].invoke(event)

    def table(self, logical_id: str) -> Any:
        """An unguarded table handle for assertions (tests may look at whole tables)."""
        name = self.template.physical[logical_id].ref
        return boto3.Session(region_name=REGION).resource("dynamodb").Table(name)

    def items(self, logical_id: str) -> list[dict]:
        return self.table(logical_id).scan()["Items"]


def _build_stack(monkeypatch: pytest.MonkeyPatch, parameters: dict[str, str]) -> Stack:
    template = Template(TEMPLATE, stack_name=STACK_NAME, region=REGION, overrides=parameters)
    Provisioner(template).provision()
    for name, value in function_environment(template).items():
        monkeypatch.setenv(name, value)
    settings.cache_clear()
    aws.reset()
    boto3.setup_default_session(region_name=REGION)
    boto3.DEFAULT_SESSION.events.register("before-call.dynamodb.Scan", _refuse_scan)
    functions = local_functions(template)
    api_id = next(iter(template.of_type("AWS::Serverless::Api")))
    return Stack(template, functions, LocalGateway(template, functions, api_id))


@pytest.fixture
def make_stack(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """make_stack(**template parameter overrides) → Stack; production defaults when none are given."""
    with mock_aws():
        yield lambda **parameters: _build_stack(monkeypatch, parameters)
        aws.reset()
        settings.cache_clear()
        boto3.DEFAULT_SESSION = None


@pytest.fixture
def stack(make_stack) -> Stack:
    return make_stack()
