"""Faults a review of the plain handler layer and the delivery batch found: each test fails
without its fix."""

import base64
from decimal import Decimal
from types import SimpleNamespace

import pytest

from events_core.config import Settings
from events_core.delivery import fanout, queues
from events_core.delivery.worker import Deliverer, Incoming, Outcome
from events_core.errors import Unavailable
from events_core.http import Request, answer_of
from events_core.records.message import DeliveryMessage, delivery_id
from events_core.webhooks import repository as webhooks_repository
from events_core.webhooks.repository import WebhookRepository


class ThrottledClient:
    """BatchGetItem that never gets to some keys (DynamoDB under throttling), or does after `until`."""

    def __init__(self, until: int | None = None):
        self.calls = 0
        self.until = until

    def batch_get_item(self, RequestItems: dict) -> dict:
        self.calls += 1
        ((name, request),) = RequestItems.items()
        if self.until is not None and self.calls > self.until:
            return {"Responses": {name: []}, "UnprocessedKeys": {}}
        return {"Responses": {name: []}, "UnprocessedKeys": {name: request}}


def throttled_repository(client: ThrottledClient) -> WebhookRepository:
    table = SimpleNamespace(name="webhooks", meta=SimpleNamespace(client=client))
    return WebhookRepository(table=table)


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    monkeypatch.setattr(webhooks_repository, "time", SimpleNamespace(sleep=lambda seconds: None), raising=False)


def test_webhooks_never_read_are_not_reported_missing():
    """Given BatchGetItem leaves keys unprocessed every time, when reading webhooks, then the read
    fails loudly instead of answering 'no such webhook' (whose posts would be dropped)."""
    client = ThrottledClient()
    with pytest.raises(Unavailable):
        throttled_repository(client).get_many([("dev", "a"), ("dev", "b")])
    assert client.calls == 5  # the first ask and four more, backing off


def test_unprocessed_keys_are_asked_for_again():
    client = ThrottledClient(until=2)
    assert throttled_repository(client).get_many([("dev", "a"), ("dev", "b")]) == {}
    assert client.calls == 3


def message(webhook_id: str) -> DeliveryMessage:
    return DeliveryMessage(
        delivery_id=delivery_id("e-1", webhook_id, 1_700_000_000_000),
        webhook_id=webhook_id,
        developer_id="dev",
        event_id="e-1",
        event="tool.executed",
        timestamp="2026-04-12T08:00:00.000Z",
        payload='{"event":"tool.executed","timestamp":"2026-04-12T08:00:00.000Z","data":{}}',
    )


def test_a_batch_whose_webhooks_cannot_be_read_returns_to_the_queue():
    """Given the webhooks cannot be read, when a batch is delivered, then every message fails (and
    comes back) rather than being dropped as if its webhook were deleted."""
    deliverer = Deliverer(
        Settings(),
        webhooks=throttled_repository(ThrottledClient()),
        store=SimpleNamespace(),
        box=SimpleNamespace(),
    )
    incoming = [Incoming(f"m{n}", f"r{n}", message(f"w{n}").to_json()) for n in range(3)]
    verdicts = deliverer.deliver(incoming, lambda: 60_000)
    assert {verdict.outcome for verdict in verdicts.values()} == {Outcome.FAILED}
    assert set(verdicts) == {"m0", "m1", "m2"}


def api_event(body: str, *, base64_encoded: bool = False) -> dict:
    return {
        "httpMethod": "POST",
        "path": "/v1/events/webhooks",
        "resource": "/v1/events/webhooks",
        "headers": {},
        "body": body,
        "isBase64Encoded": base64_encoded,
        "requestContext": {"authorizer": {"developerId": "dev", "scopes": "read write"}},
    }


def test_an_answer_json_cannot_encode_is_a_logged_500_not_a_crash():
    answer = answer_of(lambda request: {"amount": Decimal("1.5")}, api_event("{}"), None)
    assert answer["statusCode"] == 500
    assert '"internal_error"' in answer["body"]


@pytest.mark.parametrize("body", ["é9w=", "€€€€", base64.b64encode(b"{}").decode() + "\u00ff"])
def test_base64_bodies_with_characters_outside_ascii_are_a_400(body):
    answer = answer_of(lambda request: request.json(), api_event(body, base64_encoded=True), None)
    assert answer["statusCode"] == 400
    assert "base64" in answer["body"]


def test_outbox_forgets_its_messages_even_when_the_send_fails(monkeypatch):
    """A send that raises (no answer at all) must not leave the batch's messages for the next
    invocation, which would resend them under record ids SQS never gave it; their records go back."""
    outbox = fanout.Outbox("https://sqs.invalid/queue")
    outbox.add(message("w1"), "record-1")

    def unreachable(url: str, messages: list) -> list:
        raise ConnectionError("no route to SQS")

    monkeypatch.setattr(queues, "send_all", unreachable)
    assert outbox.finish() == {"record-1"}
    assert outbox.pending == [] and outbox.finish() == set()


def test_request_json_reads_a_plain_body():
    assert Request(api_event('{"a": 1}'), None).json() == {"a": 1}
