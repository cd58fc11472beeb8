"""The gate is the only way out: every purpose is driven end to end, with OAuth2 and custom headers
on the webhook, under a socket layer that records every connection this process opens and fails
any that no gate passage cleared for its host and port (the token fetch included). A purpose
added without a driver here fails too: whatever comes later joins the gate and this test."""

import json
import socket
from collections import Counter
from urllib.parse import urlsplit

import pytest

from events_core.delivery import gate as outbound
from events_core.delivery.controls import release_message
from events_core.delivery.gate import Purpose
from events_core.records.message import Trigger
from events_core.records.store import DeliveryStore
from eventsapi.harness.receiver import Behaviour
from tests.integration.test_receiver_controls import TokenServer

WEBHOOKS = "/v1/events/webhooks"


class Passages:
    """Connections allowed by cleared passages, one per passage per destination."""

    def __init__(self) -> None:
        self.allowed: Counter = Counter()
        self.purposes: set[Purpose] = set()
        self.unpassed: list[tuple[str, int]] = []
        self.connections: list[tuple[str, int]] = []

    def cleared(self, context) -> None:
        self.purposes.add(context.purpose)
        for url in (context.webhook.url, (context.webhook.auth or {}).get("tokenUrl")):
            if url:
                parts = urlsplit(url)
                self.allowed[(parts.hostname, parts.port)] += 1

    def connecting(self, address: tuple) -> None:
        host, port = str(address[0]), int(address[1])
        self.connections.append((host, port))
        if self.allowed[(host, port)] <= 0:
            self.unpassed.append((host, port))
            raise ConnectionRefusedError(f"no gate passage for {host}:{port}")
        self.allowed[(host, port)] -= 1


@pytest.fixture
def passages(monkeypatch):
    recorded = Passages()
    clear = outbound.Gate._clear

    def clearing(self, context):
        verdict = clear(self, context)
        if verdict is None:
            recorded.cleared(context)
        return verdict

    connect = socket.socket.connect

    def connecting(sock, address):
        recorded.connecting(address)
        return connect(sock, address)

    monkeypatch.setattr(outbound.Gate, "_clear", clearing)
    monkeypatch.setattr(socket.socket, "connect", connecting)
    return recorded


def echo(body: bytes) -> bytes:
    return json.loads(body)["data"].get("challenge", "ok").encode()


class World:
    """One developer's webhook with OAuth2 and a custom header, a receiver, a token server."""

    def __init__(self, pipeline, receiver, tokens):
        self.pipeline, self.receiver, self.tokens = pipeline, receiver, tokens
        self.key = pipeline.stack.key()
        auth = {"type": "oauth2", "tokenUrl": tokens.url, "clientId": "c", "clientSecret": "s"}
        self.failing = False
        self.hook = pipeline.webhook(
            self.key, receiver.behave("/in", self._behaviour), auth=auth, headers={"X-Tenant": "acme"}
        )["id"]

    def _behaviour(self) -> Behaviour:
        return Behaviour(status=500) if self.failing else Behaviour(answer=echo)

    def call(self, method: str, path: str, body=None):
        answer = self.pipeline.stack.call(method, f"{WEBHOOKS}/{self.hook}{path}", key=self.key, body=body)
        assert answer.status < 300, answer.json
        return answer.json

    def dead_one(self) -> str:
        """A delivery that failed every attempt (RetrySchedule 0: one retry)."""
        self.failing = True
        self.pipeline.publish("user_123", "tool.executed", {"dead": True})
        self.pipeline.pump()
        self.failing = False
        return next(r["deliveryId"] for r in self.pipeline.records(self.hook) if r["status"] == "dead")


def drive_event(world: World) -> None:
    world.pipeline.publish("user_123", "tool.executed", {"n": 1})
    world.pipeline.pump()


def drive_retry(world: World) -> None:
    world.dead_one()  # its second attempt is the retry


def drive_redeliver(world: World) -> None:
    world.call("POST", f"/deliveries/{world.dead_one()}/redeliver")
    world.pipeline.pump()


def drive_recover(world: World) -> None:
    world.dead_one()
    world.call("POST", "/recover", {"since": "2000-01-01T00:00:00Z"})
    world.pipeline.pump()


def drive_redrive(world: World) -> None:
    world.dead_one()
    sqs = world.pipeline.sqs
    [letter] = sqs.receive_message(QueueUrl=world.pipeline.physical("DeliveryDeadLetterQueue")).get("Messages", [])
    sqs.send_message(
        QueueUrl=world.pipeline.physical("DeliveryQueue"), MessageBody=letter["Body"], MessageGroupId="user_123"
    )
    world.pipeline.pump()


def drive_test(world: World) -> None:
    world.call("POST", "/test")


def drive_probe(world: World) -> None:
    record = DeliveryStore().get("user_123", world.hook, world.dead_one())
    assert record is not None
    world.pipeline.stack.table("WebhooksTable").update_item(
        Key={"developerId": "user_123", "webhookId": world.hook},
        UpdateExpression="SET circuitState = :open, nextProbeAt = :due, circuitSince = :due",
        ExpressionAttributeValues={":open": "open", ":due": 0},
    )
    world.pipeline.sqs.send_message(
        QueueUrl=world.pipeline.physical("DeliveryQueue"),
        MessageBody=release_message(record, Trigger.PROBE).to_json(),
        MessageGroupId="user_123",
    )
    world.pipeline.pump()


def drive_verification(world: World) -> None:
    world.call("POST", "/verify")


DRIVERS = {
    Purpose.EVENT: drive_event,
    Purpose.RETRY: drive_retry,
    Purpose.REDELIVER: drive_redeliver,
    Purpose.RECOVER: drive_recover,
    Purpose.REDRIVE: drive_redrive,
    Purpose.TEST: drive_test,
    Purpose.PROBE: drive_probe,
    Purpose.VERIFICATION: drive_verification,
}


def test_every_purpose_has_a_driver():
    assert set(DRIVERS) == set(Purpose), "a new purpose joins the gate and this test"


@pytest.mark.parametrize("purpose", list(Purpose))
def test_every_connection_of_every_purpose_is_a_gate_passage(make_pipeline, receiver, passages, purpose):
    tokens = TokenServer()
    try:
        pipeline = make_pipeline(RetrySchedule="0", EndpointVerification="optional")
        world = World(pipeline, receiver, tokens)
        driver = DRIVERS.get(purpose)
        assert driver is not None, f"purpose {purpose} has no driver: it must join the gate and this test"
        driver(world)
        assert passages.unpassed == [], f"connections without a gate passage: {passages.unpassed}"
        assert purpose in passages.purposes, f"no passage of purpose {purpose} was cleared"
        token_port = urlsplit(tokens.url).port
        assert passages.connections and any(port != token_port for _, port in passages.connections)
        assert purpose == Purpose.VERIFICATION or tokens.requests, "its token fetch went through the gate too"
    finally:
        tokens.close()
