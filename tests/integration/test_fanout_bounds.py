"""One tenant's event costs the fan-out a bounded amount whatever it looks like (review N2): a large
payload is stored once and named by the messages and records; an over-budget event is
dead-lettered once; a record out of time goes back alone; and other tenants' events in the same
batch are delivered, none of them reaching a dead-letter queue."""

import contextlib
import json
import time
from collections.abc import Iterator

import boto3

from events_core.delivery import fanout
from events_core.records.message import delivery_id
from events_core.records.payloads import INLINE_PAYLOAD_BYTES
from events_core.webhooks.repository import WebhookRepository

WEBHOOKS = "/v1/events/webhooks"
COSTLY = {"a": [{"numeric": [">", 5, "<", 3]}] * 99 + [2]}
BIG = {"blob": "x" * 100_000, "n": 1}


@contextlib.contextmanager
def bytes_queued() -> Iterator[list[int]]:
    """The bytes of message bodies sent to any queue meanwhile (what the fan-out copies)."""
    counted = [0]

    def count(params: dict, **_: object) -> None:
        entries = params.get("Entries") or [params]
        counted[0] += sum(len(entry.get("MessageBody", "").encode()) for entry in entries)

    events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
    for operation in ("SendMessage", "SendMessageBatch"):
        events.register(f"provide-client-params.sqs.{operation}", count)
    try:
        yield counted
    finally:
        for operation in ("SendMessage", "SendMessageBatch"):
            events.unregister(f"provide-client-params.sqs.{operation}", count)


def fan_out_once(pipeline) -> list[dict]:
    """Run the fan-out on what the events queue holds; the delivery messages it queued (left in place)."""
    pipeline.source("FanoutFunction").poll_once()
    found: list[dict] = []
    while True:
        batch = pipeline.sqs.receive_message(
            QueueUrl=pipeline.physical("DeliveryQueue"), MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in {f["MessageId"] for f in found}]
        if not fresh:
            return found
        found.extend(fresh)


def test_a_large_payload_is_stored_once_and_messages_and_records_name_it(pipeline, receiver):
    key = pipeline.stack.key()
    hooks = [pipeline.webhook(key, receiver.url(f"/h{n}")) for n in range(5)]
    pipeline.publish("user_123", "tool.executed", BIG)
    messages = fan_out_once(pipeline)
    assert len(messages) == 5
    assert all(len(m["Body"]) < 2000 for m in messages), "a message names the payload, never carries it"
    bodies = [json.loads(m["Body"]) for m in messages]
    assert all(b["version"] == 2 and "payload" not in b and b["payload_ref"] == b["event_id"] for b in bodies)
    [stored] = pipeline.stack.items("PayloadsTable")
    assert stored["developerId"] == "user_123" and len(stored["payload"]) > 100_000
    pipeline.pump()
    posts = [receiver.at(f"/h{n}") for n in range(5)]
    assert all(len(p) == 1 and json.loads(p[0].body)["data"] == BIG for p in posts)
    records = pipeline.records()
    assert len(records) == 5 and all("payload" not in r and r["payloadRef"] == stored["eventId"] for r in records)
    assert all(r["version"] == 2 for r in records)
    one = pipeline.stack.call("GET", f"{WEBHOOKS}/{hooks[0]['id']}/deliveries/{records[0]['deliveryId']}", key=key)
    if one.status == 404:  # the first record belongs to another of the five webhooks
        owner = next(h for h in hooks if h["id"] == records[0]["webhookId"])
        one = pipeline.stack.call("GET", f"{WEBHOOKS}/{owner['id']}/deliveries/{records[0]['deliveryId']}", key=key)
    assert json.loads(one.json["payload"])["data"] == BIG


def test_a_small_payload_stays_inline_the_default_path(pipeline, receiver):
    pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    pipeline.publish("user_123", "tool.executed", {"toolName": "t"})
    [message] = fan_out_once(pipeline)
    body = json.loads(message["Body"])
    assert len(body["payload"]) <= INLINE_PAYLOAD_BYTES and "payload_ref" not in body
    pipeline.pump()
    assert pipeline.stack.items("PayloadsTable") == []
    [record] = pipeline.records()
    assert "payload" in record and "payloadRef" not in record


def test_recover_redeliver_and_a_redrive_find_a_stored_payload(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="0")
    key = pipeline.stack.key()
    api, operator = (pipeline.webhook(key, receiver.behave(path, status=500)) for path in ("/api", "/operator"))
    pipeline.publish("user_123", "tool.executed", BIG)
    pipeline.pump()
    letters = {
        json.loads(letter["body"])["webhook_id"]: letter for letter in pipeline.dead_letters("DeliveryDeadLetterQueue")
    }
    assert all(
        "payload_ref" in json.loads(letter["body"]) and len(letter["body"]) < 2000 for letter in letters.values()
    )
    receiver.behave("/api", status=200)
    receiver.behave("/operator", status=200)
    since = {"since": "2020-01-01T00:00:00Z"}
    assert pipeline.stack.call("POST", f"{WEBHOOKS}/{api['id']}/recover", key=key, body=since).json["queued"] == 1
    pipeline.pump()
    [record] = pipeline.records(api["id"])
    redeliver = f"{WEBHOOKS}/{api['id']}/deliveries/{record['deliveryId']}/redeliver"
    assert pipeline.stack.call("POST", redeliver, key=key).status == 202
    pipeline.sqs.send_message(QueueUrl=pipeline.physical("DeliveryQueue"), MessageBody=letters[operator["id"]]["body"])
    pipeline.pump()
    for path in ("/api", "/operator"):
        posts = receiver.at(path)
        assert [p.answered for p in posts] == [500, 500, 200, 200] if path == "/api" else [500, 500, 200]
        assert all(json.loads(p.body)["data"] == BIG for p in posts)


def test_an_over_budget_event_is_dead_lettered_once_naming_every_webhook_it_skipped(pipeline, receiver):
    key = pipeline.stack.key()
    costly = [pipeline.webhook(key, receiver.url(f"/costly{n}"), filter=COSTLY) for n in range(6)]
    pipeline.webhook(key, receiver.url("/plain"))
    pipeline.publish("user_123", "tool.executed", {"a": [0] * 60_000})
    pipeline.pump()
    letters = pipeline.dead_letters("EventsDeadLetterQueue")
    assert len(letters) == 1, "one dead letter for the event, not one full copy per webhook"
    skipped = set(letters[0]["skippedWebhooks"].split(","))
    assert skipped <= {h["id"] for h in costly} and len(skipped) >= 1
    assert letters[0]["developerId"] == "user_123"
    assert len(receiver.at("/plain")) == 1


def test_a_pathological_tenant_never_costs_other_tenants_their_events(make_pipeline, receiver):
    """Huge data, 100 webhooks, costly filters — in one batch with other developers' ordinary events."""
    pipeline = make_pipeline(DeveloperRateLimit="1000", DeveloperBurstLimit="1000")
    evil = pipeline.stack.key("evil")
    for n in range(100):
        pipeline.webhook(evil, receiver.url(f"/evil{n % 10}"), filter=COSTLY if n % 10 else {})
    others = {name: pipeline.stack.key(name) for name in ("alice", "bob")}
    for name, key in others.items():
        pipeline.webhook(key, receiver.url(f"/{name}"))
    hostile = {"a": [0] * 20_000, "blob": "\\" * 150_000}
    for _ in range(4):
        pipeline.publish("evil", "tool.executed", hostile)
    for name in others:
        pipeline.publish(name, "tool.executed", {"toolName": name})
    for _ in range(4):
        pipeline.publish("evil", "tool.executed", hostile)
    assert pipeline.queue_depth("EventsQueue")["Messages"] == 10
    with bytes_queued() as queued:
        pipeline.source("FanoutFunction").poll_once()  # one batch: the ten events together
    # Bounded copies: each hostile event (300 KB) is dead-lettered once for its 90 skipped webhooks
    # and its payload stored once, not queued for each of its 10 plain webhooks; about 100 small
    # messages besides. Before, one copy per skipped and per plain webhook: about 70 MB.
    assert queued[0] < 8 * 310_000 + 1_000_000, f"{queued[0]:,} bytes queued by one batch"
    pipeline.pump()
    for name in others:
        [post] = receiver.at(f"/{name}")
        assert json.loads(post.body)["data"] == {"toolName": name}
    for queue in ("EventsDeadLetterQueue", "DeliveryDeadLetterQueue"):
        letters = pipeline.dead_letters(queue)
        assert {letter.get("developerId") for letter in letters} <= {"evil"}, f"{queue}: {letters}"
    assert sum(len(receiver.at(f"/evil{n}")) for n in range(10)) == 8 * 10  # the plain ones, each event once


def test_a_record_that_runs_out_of_time_goes_back_alone(pipeline, receiver, monkeypatch):
    """A tenant whose record takes longer than its budget: that record goes back to the queue; the
    other tenant's record of the same batch is fanned out."""
    pipeline.webhook(pipeline.stack.key("slow"), receiver.url("/slow"))
    pipeline.webhook(pipeline.stack.key("fast"), receiver.url("/fast"))
    real_active, real_deadline = WebhookRepository.active_for, fanout.RecordDeadline.__init__

    def active_for(self, developer, event):
        if developer == "slow":
            time.sleep(1.5)
        return real_active(self, developer, event)

    monkeypatch.setattr(WebhookRepository, "active_for", active_for)
    monkeypatch.setattr(fanout.RecordDeadline, "__init__", lambda self, seconds: real_deadline(self, 1.0))
    pipeline.publish("slow", "tool.executed", {"n": 1})
    pipeline.publish("fast", "tool.executed", {"n": 2})
    pipeline.source("FanoutFunction").poll_once()
    [message] = fan_out_once(pipeline)
    assert json.loads(message["Body"])["developer_id"] == "fast"
    assert pipeline.queue_depth("EventsQueue")["MessagesNotVisible"] == 1  # the slow one, back later
    assert pipeline.dead_letters("EventsDeadLetterQueue") == []


def test_a_record_the_invocation_has_no_time_left_for_is_not_started(pipeline, receiver, monkeypatch):
    from eventsapi.local import invoke

    pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    pipeline.publish("user_123", "tool.executed", {"n": 1})
    monkeypatch.setattr(invoke.LambdaContext, "get_remaining_time_in_millis", lambda self: 3_500)
    pipeline.source("FanoutFunction").poll_once()
    assert fan_out_once(pipeline) == []
    assert pipeline.queue_depth("EventsQueue")["MessagesNotVisible"] == 1


def test_a_version_1_message_waiting_in_the_queue_is_still_delivered(pipeline, receiver):
    """A message the previous release queued (no version, payload inline), met after an upgrade."""
    hook = pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    payload = '{"event":"tool.executed","timestamp":"2026-04-12T08:00:00.000Z","data":{"old":true}}'
    v1 = {
        "delivery_id": delivery_id("e-old", hook["id"], 1_776_000_000_000),
        "webhook_id": hook["id"],
        "developer_id": "user_123",
        "event_id": "e-old",
        "event": "tool.executed",
        "timestamp": "2026-04-12T08:00:00.000Z",
        "payload": payload,
        "attempt": 1,
        "trigger": "first",
        "queued_at_ms": 1_776_000_000_000,
        "not_before_ms": 0,
    }
    pipeline.sqs.send_message(QueueUrl=pipeline.physical("DeliveryQueue"), MessageBody=json.dumps(v1))
    pipeline.pump()
    [post] = receiver.at("/hook")
    assert post.body == payload.encode()
    [record] = pipeline.records(hook["id"])
    assert record["status"] == "succeeded" and record["payload"] == payload and record["version"] == 2


def test_a_stored_payload_lives_at_least_as_long_as_the_records_naming_it(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"))
    pipeline.publish("user_123", "tool.executed", BIG)
    pipeline.pump()
    [record] = pipeline.records(hook["id"])
    [stored] = pipeline.stack.items("PayloadsTable")
    assert stored["expiresAt"] >= record["expiresAt"]
    # Weeks later (the payload's expiry near), a redelivery makes the record live on: the payload too.
    table = pipeline.stack.table("PayloadsTable")
    table.update_item(
        Key={"developerId": "user_123", "eventId": stored["eventId"]},
        UpdateExpression="SET expiresAt = :soon",
        ExpressionAttributeValues={":soon": int(record["expiresAt"]) - 86400},
    )
    path = f"{WEBHOOKS}/{hook['id']}/deliveries/{record['deliveryId']}/redeliver"
    assert pipeline.stack.call("POST", path, key=key).status == 202
    pipeline.pump()
    [record] = pipeline.records(hook["id"])
    [stored] = pipeline.stack.items("PayloadsTable")
    assert len(receiver.at("/hook")) == 2 and stored["expiresAt"] >= record["expiresAt"]
