"""Fixtures: the template's resources on moto in-process, and its API behind the local gateway.

Everything is built from template.yaml, so a route, table or queue added there is tested here
with no other change.
"""

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from events_core.api_keys import ApiKeyStore
from eventsapi.harness import contract
from eventsapi.local.gateway import LocalGateway
from eventsapi.local.inprocess import in_process_stack
from eventsapi.local.invoke import LocalFunction
from eventsapi.local.template import Template
from eventsapi.local.wiring import REGION, event_sources
from tests.builders import Answer


def pytest_addoption(parser: pytest.Parser) -> None:
    """The deployed tier's options (tests/deployed): here, because pytest reads options only from
    the conftest files of the paths it was given."""
    group = parser.getgroup("deployed", "the deployed tier (make deployed STACK=…)")
    group.addoption("--stack", help="a deployed Events API stack, by name")
    group.addoption("--region", help="its region (default: the AWS configuration's)")
    group.addoption("--receiver-url", help="a public https receiver to use instead of deploying one")
    group.addoption("--against-local", action="store_true", help="run the deployed tier against eventsapi run")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "heavy(rank): a proof of minutes; its file is handed to an xdist worker first, rank 1 first"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files in the order xdist should hand them out (make pytest: --dist loadfile --no-loadscope-reorder):
    the heavy proofs first, by rank, so the longest start at once on different workers instead of
    ending the run one after another; then the files with most tests first (xdist's own reordering).
    The order of tests inside a file is kept."""
    files: dict[str, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::", 1)[0], []).append(item)

    def handed_out(tests: list[pytest.Item]) -> tuple[int, int]:
        heavy = tests[0].get_closest_marker("heavy")
        return (0, heavy.kwargs["rank"]) if heavy else (1, -len(tests))

    items[:] = [item for tests in sorted(files.values(), key=handed_out) for item in tests]


class ScanIssued(AssertionError):
    pass


def _refuse_scan(**_: Any) -> None:
    raise ScanIssued("code issued a DynamoDB Scan; every access pattern must be a Query or GetItem")


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
        contract.check(method, path, answer.status, answer.body, answer.headers)  # every answer, against openapi.yaml
        return Answer(answer.status, answer.headers, answer.body)

    def invoke(self, logical_id: str, event: dict) -> Any:
        return self.functions[logical_id].invoke(event)

    def table(self, logical_id: str) -> Any:
        """An unguarded table handle for assertions (tests may look at whole tables)."""
        name = self.template.physical[logical_id].ref
        return boto3.Session(region_name=REGION).resource("dynamodb").Table(name)

    def items(self, logical_id: str) -> list[dict]:
        return self.table(logical_id).scan()["Items"]


@pytest.fixture
def make_stack() -> Iterator:
    """make_stack(**template parameter overrides) → Stack; production defaults when none are given."""
    with contextlib.ExitStack() as stacks:

        def build(**parameters: str) -> Stack:
            built = stacks.enter_context(in_process_stack(parameters))
            boto3.DEFAULT_SESSION.events.register("before-call.dynamodb.Scan", _refuse_scan)  # type: ignore[union-attr]
            return Stack(built.template, built.functions, built.gateway)

        yield build


@pytest.fixture
def stack(make_stack) -> Stack:
    return make_stack()


LOCAL_DELIVERY = {
    "AllowHttpUrls": "true",
    "AllowedPrivateNetworks": "127.0.0.0/8",
    "RetryDelayScale": "0",  # retries come back at once; pump() drives them
    "DeliveryTotalTimeout": "3",
    "FanoutCacheSeconds": "0",  # a webhook registered a moment ago receives the next event
}


@dataclass
class Pipeline:
    """The template's bus, queues and both SQS-driven functions, pumped by hand (deterministic)."""

    stack: Stack

    def __post_init__(self) -> None:
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.sources = event_sources(self.stack.template, self.stack.functions, self.sqs)

    def physical(self, logical_id: str) -> str:
        return self.stack.template.physical[logical_id].ref

    def publish(self, developer: str, event_type: str, data: Any, **detail: Any) -> str:
        return self.put_detail(event_type, {"developerId": developer, "data": data, **detail})

    def put_detail(self, event_type: str, detail: dict) -> str:
        answer = boto3.client("events", region_name=REGION).put_events(
            Entries=[
                {
                    "EventBusName": self.physical("PlatformEventBus"),
                    "Source": "cn.invoratec.platform",
                    "DetailType": event_type,
                    "Detail": json.dumps(detail),
                }
            ]
        )
        assert answer["FailedEntryCount"] == 0
        return answer["Entries"][0]["EventId"]

    def source(self, logical_id: str) -> Any:
        return next(source for source in self.sources if source.function.spec.logical_id == logical_id)

    def pump(self, rounds: int = 100) -> int:
        """Poll both queues until nothing is left to do; returns how many records were handled."""
        handled = 0
        for _ in range(rounds):
            this_round = sum(source.poll_once() for source in self.sources)
            handled += this_round
            if not this_round:
                return handled
        raise AssertionError("the pipeline never went quiet")

    def dead_letters(self, logical_id: str) -> list[dict]:
        messages = self.sqs.receive_message(
            QueueUrl=self.physical(logical_id), MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        return [
            {"body": m["Body"], **{k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()}}
            for m in messages
        ]

    def webhook(self, key: str, url: str, event: str = "tool.executed", **fields: Any) -> dict:
        answer = self.stack.call("POST", "/v1/events/webhooks", key=key, body={"event": event, "url": url, **fields})
        assert answer.status == 201, answer.json
        return answer.json

    def listed(self, key: str) -> dict[str, dict]:
        return {hook["_id"]: hook for hook in self.stack.call("GET", "/v1/events/webhooks", key=key).json["webhooks"]}

    def records(self, webhook_id: str | None = None) -> list[dict]:
        """Delivery records as stored (oldest first), of one webhook or all (the partition ledger's
        entries, events_core.records.ledger, are not records)."""
        items = [
            i for i in self.stack.items("DeliveriesTable") if "webhookId" in i and webhook_id in (None, i["webhookId"])
        ]
        return sorted(items, key=lambda item: item["deliveryId"])

    def attempts(self, webhook_id: str | None = None) -> list[dict]:
        return [attempt for record in self.records(webhook_id) for attempt in record["attempts"]]

    def queue_depth(self, logical_id: str) -> dict[str, int]:
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.physical(logical_id), AttributeNames=["All"])
        return {
            name: int(attributes["Attributes"][f"ApproximateNumberOf{name}"])
            for name in ("Messages", "MessagesNotVisible", "MessagesDelayed")
        }


@pytest.fixture
def make_pipeline(make_stack):
    return lambda **parameters: Pipeline(make_stack(**{**LOCAL_DELIVERY, **parameters}))


@pytest.fixture
def pipeline(make_pipeline) -> Pipeline:
    return make_pipeline()


@pytest.fixture
def receiver():
    from eventsapi.harness.receiver import Receiver

    with Receiver() as running:
        yield running
