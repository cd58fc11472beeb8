"""Platform events that cannot be delivered, and filters that would cost too much: each rests in the
events dead-letter queue with its reason and a log line, at once (never a silent five-receive loop),
and every other event and pair goes on."""

import json
import logging
import time

import pytest

SOURCE = "cn.invoratec.platform"


def envelope_with(data_text: str, developer: str = "user_123") -> str:
    """An EventBridge event as it reaches the events queue, with `data` written exactly as given."""
    return (
        '{"version":"0","id":"poison-1","detail-type":"tool.executed","source":"' + SOURCE + '",'
        '"time":"2026-04-12T08:00:00Z","region":"us-east-1","resources":[],'
        '"detail":{"developerId":"' + developer + '","data":' + data_text + "}}"
    )


POISON = {
    "lone surrogate": ('{"s": "\\ud800"}', "surrogate"),
    "deep nesting": ('{"a": ' + "[" * 3000 + "]" * 3000 + "}", "deeper"),
    "huge integer": ('{"n": ' + "7" * 5000 + "}", "digits"),
    "infinity": ('{"x": 1e999}', "out of range"),
    "NaN": ('{"x": NaN}', "not a JSON number"),
}


@pytest.mark.parametrize("shape", list(POISON))
def test_a_poison_event_is_dead_lettered_at_once_with_its_reason(pipeline, receiver, caplog, shape):
    data_text, reason = POISON[shape]
    pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    pipeline.sqs.send_message(QueueUrl=pipeline.physical("EventsQueue"), MessageBody=envelope_with(data_text))
    pipeline.publish("user_123", "tool.executed", {"fine": True})
    with caplog.at_level(logging.WARNING):
        pipeline.pump()
    [dead] = pipeline.dead_letters("EventsDeadLetterQueue")
    assert dead["reason"].startswith("invalid event: ") and reason in dead["reason"]
    assert any(r.getMessage() == "event not delivered" for r in caplog.records)
    assert [json.loads(p.body)["data"] for p in receiver.at("/hook")] == [{"fine": True}]
    assert pipeline.queue_depth("EventsQueue") == {"Messages": 0, "MessagesNotVisible": 0, "MessagesDelayed": 0}


def test_poison_put_through_the_bus_is_dead_lettered_too(pipeline, receiver):
    pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    pipeline.publish("user_123", "tool.executed", {"s": "\ud800"})
    pipeline.pump()
    [dead] = pipeline.dead_letters("EventsDeadLetterQueue")
    assert "surrogate" in dead["reason"]
    assert receiver.received == []


def test_the_body_posted_is_the_data_as_received_never_larger(pipeline, receiver):
    pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    data = '{ "big": [' + ", ".join(["1e15"] * 2000) + '], "f": 1.50, "u": "\\u00e9" }'
    pipeline.sqs.send_message(QueueUrl=pipeline.physical("EventsQueue"), MessageBody=envelope_with(data))
    pipeline.pump()
    [post] = receiver.at("/hook")
    sent = json.loads(post.body)
    assert b'"data":{"big":[1e15,1e15' in post.body and b'"f":1.50' in post.body and b'"u":"\\u00e9"' in post.body
    assert len(post.body) <= len(data) + 80  # the envelope's few bytes, nothing re-serialised
    assert sent["data"]["u"] == "é"


def test_a_costly_filter_costs_only_its_own_pair(pipeline, receiver, caplog):
    key = pipeline.stack.key()
    costly = pipeline.webhook(key, receiver.url("/costly"), filter={"a": [{"numeric": [">", 5, "<", 3]}] * 99 + [2]})
    pipeline.webhook(key, receiver.url("/plain"))
    pipeline.webhook(key, receiver.url("/cheap"), filter={"kind": "x"})
    started = time.monotonic()
    with caplog.at_level(logging.ERROR):
        pipeline.publish("user_123", "tool.executed", {"a": [0] * 20000, "kind": "x"})
        pipeline.pump()
    assert time.monotonic() - started < 10
    assert receiver.at("/costly") == []
    assert len(receiver.at("/plain")) == 1 and len(receiver.at("/cheap")) == 1
    [dead] = pipeline.dead_letters("EventsDeadLetterQueue")
    assert dead["skippedWebhooks"] == costly["id"] and "exceeded their matching budget" in dead["reason"]
    assert any(r.getMessage() == "event not delivered to some webhooks" for r in caplog.records)
