"""The event contract where events enter and where developers look: the catalogue routes, test
sends of catalogue examples, the fan-out's schema enforcement (off | warn | reject) and idempotent
publishing (one event per developer and detail.idempotencyKey)."""

import json
import logging
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from events_core.catalogue import find
from eventsapi.local.wiring import REGION

TYPES = "/v1/events/types"
EXAMPLE = find("tool.executed").example  # type: ignore[union-attr]
WITHOUT_TOOL_NAME = {key: value for key, value in EXAMPLE.items() if key != "toolName"}


def put(pipeline, detail: dict, *, at: datetime | None = None, event_type: str = "tool.executed") -> str:
    entry = {
        "EventBusName": pipeline.physical("PlatformEventBus"),
        "Source": "cn.invoratec.platform",
        "DetailType": event_type,
        "Detail": json.dumps(detail),
    }
    if at is not None:
        entry["Time"] = at
    answer = boto3.client("events", region_name=REGION).put_events(Entries=[entry])
    assert answer["FailedEntryCount"] == 0
    return answer["Entries"][0]["EventId"]


# -- the catalogue routes


def test_one_type_with_its_schema_and_example_and_404_for_an_unknown_one(stack):
    reader = stack.key(scopes=("read",))
    answer = stack.call("GET", f"{TYPES}/tool.executed", key=reader)
    assert answer.status == 200
    assert answer.json == find("tool.executed").describe()  # type: ignore[union-attr]
    assert answer.json["schema"]["required"] == ["toolName", "input", "result", "elapsed_ms"]
    assert stack.call("GET", f"{TYPES}/tool.nope", key=reader).status == 404
    assert stack.call("GET", f"{TYPES}", key=reader).json["eventTypes"][2] == "tool.executed"  # unchanged


def test_validate_needs_only_read_and_names_each_fault(stack):
    reader = stack.key(scopes=("read",))
    valid = stack.call("POST", f"{TYPES}/tool.executed/validate", key=reader, body={"data": EXAMPLE})
    assert (valid.status, valid.json) == (200, {"valid": True, "errors": []})
    invalid = stack.call("POST", f"{TYPES}/tool.executed/validate", key=reader, body={"data": WITHOUT_TOOL_NAME})
    assert invalid.json == {"valid": False, "errors": [{"path": "/toolName", "message": "is a required field"}]}
    for body in ({}, {"data": "x"}, {"data": None}, {"data": [EXAMPLE]}):
        refused = stack.call("POST", f"{TYPES}/tool.executed/validate", key=reader, body=body)
        assert (refused.status, refused.error["field"]) == (400, "data")
    assert stack.call("POST", f"{TYPES}/nope/validate", key=reader, body={"data": {}}).status == 404
    assert stack.call("POST", f"{TYPES}/tool.executed/validate", body={"data": {}}).status == 401


def test_a_test_send_of_a_type_posts_its_example_and_refuses_invalid_data(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"))
    test = f"/v1/events/webhooks/{hook['id']}/test"
    sent = pipeline.stack.call("POST", test, key=key, body={"event": "graph.synced"})
    assert sent.status == 200 and sent.json["delivered"] is True
    [post] = receiver.at("/hook")
    body = json.loads(post.body)
    assert body["event"] == "graph.synced"
    assert body["data"] == {**find("graph.synced").example, "test": True}  # type: ignore[union-attr]
    refused = pipeline.stack.call("POST", test, key=key, body={"event": "graph.synced", "data": {"x": 1}})
    assert refused.status == 400 and refused.error["field"] == "data"
    assert {"path": "/graphId", "message": "is a required field"} in refused.error["details"]
    assert len(receiver.at("/hook")) == 1, "nothing sent"


# -- schema enforcement in the fan-out


def test_warn_delivers_invalid_data_and_says_so(pipeline, receiver, caplog):
    pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    pipeline.publish("user_123", "tool.executed", WITHOUT_TOOL_NAME)
    with caplog.at_level(logging.WARNING):
        pipeline.pump()
    [post] = receiver.at("/hook")
    assert json.loads(post.body)["data"] == WITHOUT_TOOL_NAME
    assert any("/toolName" in record.getMessage() or "/toolName" in str(record.__dict__) for record in caplog.records)
    assert pipeline.dead_letters("EventsDeadLetterQueue") == []


def test_reject_delivers_nothing_and_rests_the_event_with_its_errors(make_pipeline, receiver):
    pipeline = make_pipeline(SchemaEnforcement="reject")
    pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    pipeline.publish("user_123", "tool.executed", WITHOUT_TOOL_NAME)
    pipeline.publish("user_123", "tool.executed", EXAMPLE)
    pipeline.pump()
    assert [json.loads(p.body)["data"] for p in receiver.at("/hook")] == [EXAMPLE]
    [dead] = pipeline.dead_letters("EventsDeadLetterQueue")
    assert dead["reason"].startswith("schema: data does not match the tool.executed schema: /toolName")
    assert json.loads(dead["schemaErrors"]) == [{"path": "/toolName", "message": "is a required field"}]
    checked = pipeline.stack.call(
        "POST", f"{TYPES}/tool.executed/validate", key=pipeline.stack.key(), body={"data": WITHOUT_TOOL_NAME}
    )
    assert checked.json["errors"] == json.loads(dead["schemaErrors"]), "the route's errors are the pipeline's"
    assert (dead["eventType"], dead["developerId"]) == ("tool.executed", "user_123")
    assert json.loads(dead["body"])["detail"]["data"] == WITHOUT_TOOL_NAME, "the event itself, for a redrive"


def test_off_checks_nothing(make_pipeline, receiver):
    pipeline = make_pipeline(SchemaEnforcement="off")
    pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    pipeline.publish("user_123", "tool.executed", {"anything": 1})
    pipeline.pump()
    assert len(receiver.at("/hook")) == 1


# -- idempotent publishing


def test_one_key_twice_is_one_event_even_with_other_ids_and_times(pipeline, receiver):
    key = pipeline.stack.key()
    pipeline.webhook(key, receiver.url("/a"))
    pipeline.webhook(key, receiver.url("/b"))
    detail = {"developerId": "user_123", "data": EXAMPLE, "idempotencyKey": "order-42:inventory"}
    first = put(pipeline, detail, at=datetime.now(UTC) - timedelta(minutes=3))
    pipeline.pump()
    retried = put(pipeline, {**detail, "data": dict(reversed(EXAMPLE.items()))})  # same content, other key order
    pipeline.pump()
    assert first != retried
    posts = receiver.at("/a") + receiver.at("/b")
    assert len(receiver.at("/a")) == len(receiver.at("/b")) == 1, "one delivery per webhook"
    assert len({p.headers["X-Webhook-Id"] for p in posts}) == 2
    assert {json.loads(p.body)["timestamp"] for p in posts} == {json.loads(receiver.at("/a")[0].body)["timestamp"]}
    assert {r["eventId"] for r in pipeline.records()} == {first}
    assert pipeline.dead_letters("EventsDeadLetterQueue") == []


def test_a_retry_arriving_while_the_first_is_in_flight_is_still_one_post(pipeline, receiver):
    pipeline.webhook(pipeline.stack.key(), receiver.url("/a"))
    detail = {"developerId": "user_123", "data": EXAMPLE, "idempotencyKey": "k-1"}
    put(pipeline, detail, at=datetime.now(UTC) - timedelta(seconds=30))
    put(pipeline, detail)
    pipeline.pump()
    assert len(receiver.at("/a")) == 1


def test_the_same_key_with_other_data_rests_in_the_dead_letter_queue(pipeline, receiver):
    pipeline.webhook(pipeline.stack.key(), receiver.url("/a"))
    first = put(pipeline, {"developerId": "user_123", "data": EXAMPLE, "idempotencyKey": "k-2"})
    pipeline.pump()
    put(pipeline, {"developerId": "user_123", "data": {**EXAMPLE, "elapsed_ms": 999}, "idempotencyKey": "k-2"})
    pipeline.pump()
    assert [json.loads(p.body)["data"]["elapsed_ms"] for p in receiver.at("/a")] == [230]
    [dead] = pipeline.dead_letters("EventsDeadLetterQueue")
    assert dead["reason"] == f"idempotency key reused with different data; the first event with this key is {first}"


def test_keys_belong_to_one_developer_and_events_without_a_key_are_never_merged(pipeline, receiver):
    pipeline.webhook(pipeline.stack.key("user_123"), receiver.url("/a"))
    pipeline.webhook(pipeline.stack.key("user_456"), receiver.url("/b"))
    for developer in ("user_123", "user_456"):
        put(pipeline, {"developerId": developer, "data": EXAMPLE, "idempotencyKey": "shared"})
    put(pipeline, {"developerId": "user_123", "data": EXAMPLE})
    put(pipeline, {"developerId": "user_123", "data": EXAMPLE})
    pipeline.pump()
    assert (len(receiver.at("/a")), len(receiver.at("/b"))) == (3, 1)
    assert len(pipeline.stack.items("IdempotencyTable")) == 2, "a claim per keyed event, none without a key"


def test_an_expired_claim_lets_the_key_deliver_again(pipeline, receiver):
    pipeline.webhook(pipeline.stack.key(), receiver.url("/a"))
    detail = {"developerId": "user_123", "data": EXAMPLE, "idempotencyKey": "k-3"}
    put(pipeline, detail)
    pipeline.pump()
    table = pipeline.stack.table("IdempotencyTable")
    [claim] = table.scan()["Items"]
    table.update_item(
        Key={"claimKey": claim["claimKey"]},
        UpdateExpression="SET expiresAt = :past",
        ExpressionAttributeValues={":past": 1},
    )  # moto never expires items: the condition must look at expiresAt itself
    put(pipeline, detail, at=datetime.now(UTC) + timedelta(seconds=5))
    pipeline.pump()
    assert len(receiver.at("/a")) == 2
    assert "k-3" not in str(table.scan()["Items"]), "the key is stored hashed"


@pytest.mark.parametrize("bad", ["", "x" * 129, "has space", 42])
def test_a_malformed_key_rests_in_the_dead_letter_queue(pipeline, receiver, bad):
    pipeline.webhook(pipeline.stack.key(), receiver.url("/a"))
    put(pipeline, {"developerId": "user_123", "data": EXAMPLE, "idempotencyKey": bad})
    pipeline.pump()
    assert receiver.at("/a") == []
    [dead] = pipeline.dead_letters("EventsDeadLetterQueue")
    assert "idempotencyKey" in dead["reason"]
