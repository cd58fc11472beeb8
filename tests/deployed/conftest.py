"""The deployed tier: the same client code as the end-to-end tier, pointed at a stack on AWS.

    make deployed STACK=events-api REGION=ap-southeast-1 [RECEIVER_URL=https://…]

What it needs on AWS: credentials allowed to read the stack, write its API-keys table, manage
API Gateway keys, put events on its bus, and (unless RECEIVER_URL is given) deploy and delete a
small receiver stack (tests/deployed/receiver/template.yaml: a Lambda function URL writing each
POST to a table). Everything it creates is deleted at the end; its test developer's webhooks too.

`--against-local` runs the very same tests against `eventsapi run` (the end-to-end tier does, so
this tier's code is exercised on every `make test` even where no AWS account is at hand).
"""

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import boto3
import pytest

from events_core.delivery.queues import event_entry
from tests.client import EventsApi

ROOT = Path(__file__).resolve().parents[2]
EVENTSAPI = str(Path(sys.executable).with_name("eventsapi"))
RECEIVER_TEMPLATE = Path(__file__).resolve().parent / "receiver" / "template.yaml"
SAM = str(ROOT / ".venv-sam" / "bin" / "sam")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--stack") or config.getoption("--against-local"):
        return
    skip = pytest.mark.skip(reason="needs a deployed stack: make deployed STACK=<name>")
    for item in items:
        if "deployed" in item.keywords:
            item.add_marker(skip)


@dataclass
class Post:
    headers: dict[str, str]  # lower-case names
    body: bytes


class Receiver(Protocol):
    def url(self, path: str) -> str: ...

    def posts(self, path: str) -> list[Post] | None: ...  # None: cannot be read (a third-party receiver)


@dataclass
class Deployment:
    api_url: str
    bus: str
    source: str
    cli: list[str]  # eventsapi's target arguments: --stack NAME --region R, or --local
    events: Any  # an EventBridge client for publishing
    receiver: Receiver
    developer: str = field(default_factory=lambda: f"deployed_test_{secrets.token_hex(4)}")

    def eventsapi(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([EVENTSAPI, *self.cli, *args], capture_output=True, text=True, timeout=120, check=False)

    def new_key(self, scopes: str) -> str:
        done = self.eventsapi("keys", "create", "--developer", self.developer, "--scopes", scopes)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    def api(self, key: str | None) -> EventsApi:
        return EventsApi(self.api_url, key)

    def publish(self, event_type: str, data: dict) -> str:
        answer = self.events.put_events(Entries=[event_entry(self.bus, self.source, event_type, self.developer, data)])
        assert answer["FailedEntryCount"] == 0, answer
        return answer["Entries"][0]["EventId"]


@dataclass
class TableReceiver:
    """The receiver stack's function URL; what it got, read from its table."""

    base_url: str
    table: Any

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def posts(self, path: str) -> list[Post]:
        items = self.table.query(
            KeyConditionExpression="#p = :p",
            ExpressionAttributeNames={"#p": "path"},
            ExpressionAttributeValues={":p": path},
        ).get("Items", [])
        return [Post({k.lower(): v for k, v in item["headers"].items()}, item["body"].encode()) for item in items]


@dataclass
class ThirdPartyReceiver:
    base_url: str

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def posts(self, path: str) -> None:
        return None


@dataclass
class LocalReceiver:
    running: Any

    def url(self, path: str) -> str:
        return self.running.url(path)

    def posts(self, path: str) -> list[Post]:
        return [Post({k.lower(): v for k, v in p.headers.items()}, p.body) for p in self.running.at(path)]


def _outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {item["OutputKey"]: item["OutputValue"] for item in described.get("Outputs", [])}


@pytest.fixture(scope="session")
def deployment(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    if request.config.getoption("--against-local"):
        yield from _local()
        return
    stack, region = request.config.getoption("--stack"), request.config.getoption("--region")
    session = boto3.Session(region_name=region) if region else boto3.Session()
    cloudformation = session.client("cloudformation")
    outputs = _outputs(cloudformation, stack)
    parameters = {
        p["ParameterKey"]: p.get("ParameterValue", "")
        for p in cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Parameters", [])
    }
    given = request.config.getoption("--receiver-url")
    receiver_stack = None
    if given:
        receiver: Receiver = ThirdPartyReceiver(given)
    else:
        receiver_stack = f"{stack}-test-receiver-{secrets.token_hex(3)}"
        subprocess.run(
            [
                SAM,
                "deploy",
                "--template-file",
                str(RECEIVER_TEMPLATE),
                "--stack-name",
                receiver_stack,
                "--capabilities",
                "CAPABILITY_IAM",
                "--no-confirm-changeset",
                "--resolve-s3",
                *(["--region", session.region_name] if session.region_name else []),
            ],
            check=True,
            timeout=900,
        )
        found = _outputs(cloudformation, receiver_stack)
        receiver = TableReceiver(found["ReceiverUrl"], session.resource("dynamodb").Table(found["PostsTableName"]))
    try:
        yield Deployment(
            api_url=outputs["ApiUrl"],
            bus=outputs["EventBusName"],
            source=parameters.get("EventSource", "cn.invoratec.platform"),
            cli=["--stack", stack, *(["--region", session.region_name] if session.region_name else [])],
            events=session.client("events"),
            receiver=receiver,
        )
    finally:
        if receiver_stack:
            cloudformation.delete_stack(StackName=receiver_stack)


def _local() -> Iterator[Deployment]:
    from eventsapi.harness.receiver import Receiver as HarnessReceiver
    from eventsapi.local.wiring import emulator_session
    from tests.e2e.conftest import start_stack, stop_stack

    running = start_stack()
    try:
        with HarnessReceiver() as receiver:
            events = emulator_session().client("events", endpoint_url=running.endpoint)
            yield Deployment(
                api_url=running.api_url,
                bus="platform-events",
                source="cn.invoratec.platform",
                cli=["--endpoint-url", running.endpoint, "--api-url", running.api_url, "--local"],
                events=events,
                receiver=LocalReceiver(receiver),
            )
    finally:
        stop_stack(running)


def json_body(post: Post) -> dict:
    return json.loads(post.body)


def settle(seconds: float) -> None:
    time.sleep(seconds)
