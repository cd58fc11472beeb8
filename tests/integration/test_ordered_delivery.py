"""Ordered delivery per key (events_core.ordering), on the template's queues and functions on moto
with a real receiver: per key, posts follow the producer's sequence; a failing head holds only its
key; `block` keeps a key until it is skipped; late arrivals are delivered, marked out of order."""

import json
import random
import time
from collections import defaultdict
from urllib.parse import unquote

from events_core.ordering import sequencer as sequencer_module
from events_core.ordering.state import PARTITION_SUFFIX
from eventsapi.harness.receiver import Behaviour


def _ordered(pipeline, key, url, **ordering):
    return pipeline.webhook(key, url, ordering={"by": "workflowId", "windowMs": 0, **ordering})


def _pump_until(pipeline, done, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pipeline.pump()
        if done():
            return
        time.sleep(0.3)
    states = [(r["deliveryId"], r["status"], r.get("heldReason")) for r in pipeline.records()]
    raise AssertionError(f"the ordered deliveries did not all arrive: {states}")


def _accepted(receiver, path):
    """(workflow, sequence, out-of-order) of every accepted post, in arrival order."""
    found = []
    for post in receiver.at(path):
        if post.accepted:
            data = json.loads(post.body)["data"]
            found.append((data["workflowId"], data["n"], post.headers.get("X-Webhook-Out-Of-Order") == "true"))
    return found


def _per_key(posts):
    keys = defaultdict(list)
    for workflow, n, _late in posts:
        keys[workflow].append(n)
    return keys


def test_events_shuffled_within_the_window_arrive_in_sequence_per_key(make_pipeline, receiver, monkeypatch):
    pipeline = make_pipeline()
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/ordered"), ordering={"by": "workflowId", "windowMs": 1500})
    assert hook["ordering"] == {"by": "workflowId", "windowMs": 1500, "onFailure": "skip"}
    sent = [(f"wf-{w}", n) for w in range(3) for n in range(1, 6)]
    random.Random(7).shuffle(sent)
    for workflow, n in sent:
        pipeline.publish("user_123", "tool.executed", {"workflowId": workflow, "n": n}, sequence=n)
    _pump_until(pipeline, lambda: len(_accepted(receiver, "/ordered")) == len(sent))

    posts = _accepted(receiver, "/ordered")
    assert {k: v for k, v in _per_key(posts).items()} == {f"wf-{w}": [1, 2, 3, 4, 5] for w in range(3)}
    assert not any(late for _w, _n, late in posts)
    first = receiver.at("/ordered")[0]
    assert first.headers["X-Webhook-Sequence"] == str(json.loads(first.body)["data"]["n"])
    assert unquote(first.headers["X-Webhook-Ordering-Key"]) == json.dumps(json.loads(first.body)["data"]["workflowId"])


def test_a_failing_head_holds_only_its_key(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="0,0,0")
    key = pipeline.stack.key()
    failures = {"left": 2}

    def decide(body: bytes) -> Behaviour:
        data = json.loads(body)["data"]
        if data["workflowId"] == "stuck" and data["n"] == 1 and failures["left"]:
            failures["left"] -= 1
            return Behaviour(status=500)
        return Behaviour()

    hook = _ordered(pipeline, key, receiver.behave_by_body("/ordered", decide), windowMs=1000)
    for n in (1, 2, 3):
        pipeline.publish("user_123", "tool.executed", {"workflowId": "stuck", "n": n}, sequence=n)
        pipeline.publish("user_123", "tool.executed", {"workflowId": "free", "n": n}, sequence=n)
    _pump_until(pipeline, lambda: len(_accepted(receiver, "/ordered")) == 6)

    keys = _per_key(_accepted(receiver, "/ordered"))
    assert keys == {"stuck": [1, 2, 3], "free": [1, 2, 3]}
    stuck = [json.loads(p.body)["data"]["n"] for p in receiver.at("/ordered") if b'"stuck"' in p.body]
    assert stuck == [1, 1, 1, 2, 3], "nothing of the key was posted while its head was retrying"
    assert all(r["status"] == "succeeded" for r in pipeline.records(hook["id"]))


def test_block_keeps_the_key_until_it_is_skipped(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="0")
    key = pipeline.stack.key()

    def decide(body: bytes) -> Behaviour:
        data = json.loads(body)["data"]
        return Behaviour(status=500) if (data["workflowId"], data["n"]) == ("a", 1) else Behaviour()

    hook = _ordered(pipeline, key, receiver.behave_by_body("/ordered", decide), onFailure="block", windowMs=1000)
    for n in (1, 2, 3):
        pipeline.publish("user_123", "tool.executed", {"workflowId": "a", "n": n}, sequence=n)
    pipeline.publish("user_123", "tool.executed", {"workflowId": "b", "n": 1}, sequence=1)

    def held():
        return [r for r in pipeline.records(hook["id"]) if r["status"] == "held"]

    _pump_until(pipeline, lambda: ("b", 1, False) in _accepted(receiver, "/ordered") and len(held()) == 2)
    assert _per_key(_accepted(receiver, "/ordered")) == {"b": [1]}

    listed = pipeline.stack.call("GET", f"/v1/events/webhooks/{hook['id']}/ordering", key=key)
    assert listed.status == 200, listed.json
    [blocked] = listed.json["blocked"]
    assert blocked["key"] == '"a"'
    records = {r["deliveryId"]: r for r in pipeline.records(hook["id"])}
    assert records[blocked["headDeliveryId"]]["status"] == "dead"
    assert [r.get("heldReason") for r in held()] == ["ordering", "ordering"]
    answered = pipeline.stack.call("GET", f"/v1/events/webhooks/{hook['id']}/deliveries", key=key).json
    assert sorted(d["heldReason"] or "-" for d in answered["deliveries"]) == ["-", "-", "ordering", "ordering"]

    skipped = pipeline.stack.call("POST", f"/v1/events/webhooks/{hook['id']}/ordering/%22a%22/skip", key=key)
    assert skipped.status == 200, skipped.json
    _pump_until(pipeline, lambda: len(_accepted(receiver, "/ordered")) == 3)
    assert _per_key(_accepted(receiver, "/ordered")) == {"b": [1], "a": [2, 3]}
    assert pipeline.stack.call("GET", f"/v1/events/webhooks/{hook['id']}/ordering", key=key).json["blocked"] == []
    again = pipeline.stack.call("POST", f"/v1/events/webhooks/{hook['id']}/ordering/%22a%22/skip", key=key)
    assert again.status == 404


def test_a_late_event_is_delivered_marked_out_of_order(pipeline, receiver):
    key = pipeline.stack.key()
    _ordered(pipeline, key, receiver.url("/ordered"))
    pipeline.publish("user_123", "tool.executed", {"workflowId": "w", "n": 5}, sequence=5)
    _pump_until(pipeline, lambda: len(_accepted(receiver, "/ordered")) == 1)
    pipeline.publish("user_123", "tool.executed", {"workflowId": "w", "n": 3}, sequence=3)
    _pump_until(pipeline, lambda: len(_accepted(receiver, "/ordered")) == 2)
    assert _accepted(receiver, "/ordered") == [("w", 5, False), ("w", 3, True)]


def test_keys_are_json_text_and_events_without_the_field_are_unordered(pipeline, receiver):
    key = pipeline.stack.key()
    _ordered(pipeline, key, receiver.url("/ordered"))
    pipeline.publish("user_123", "tool.executed", {"workflowId": 42, "n": 1}, sequence=1)
    pipeline.publish("user_123", "tool.executed", {"workflowId": "42", "n": 1}, sequence=1)
    pipeline.publish("user_123", "tool.executed", {"n": 9})
    _pump_until(pipeline, lambda: len(receiver.at("/ordered")) == 3)
    keys = sorted(p.headers.get("X-Webhook-Ordering-Key", "-") for p in receiver.at("/ordered"))
    assert keys == ["%2242%22", "-", "42"]


def test_an_unordered_webhook_writes_no_ordering_state(pipeline, receiver, monkeypatch):
    key = pipeline.stack.key()
    pipeline.webhook(key, receiver.url("/plain"))
    calls = []
    monkeypatch.setattr(sequencer_module.Sequencer, "admit", lambda *a, **k: calls.append(a))
    pipeline.publish("user_123", "tool.executed", {"workflowId": "w", "n": 1}, sequence=1)
    pipeline.pump()
    assert len(receiver.at("/plain")) == 1 and calls == []
    assert not [i for i in pipeline.stack.items("DeliveriesTable") if i["webhookKey"].endswith(PARTITION_SUFFIX)]


def test_redelivering_a_blocked_head_re_enters_it_in_order(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="0")
    key = pipeline.stack.key()
    down = {"head": True}

    def decide(body: bytes) -> Behaviour:
        data = json.loads(body)["data"]
        return Behaviour(status=500) if data["n"] == 1 and down["head"] else Behaviour()

    hook = _ordered(pipeline, key, receiver.behave_by_body("/ordered", decide), onFailure="block", windowMs=1000)
    for n in (1, 2, 3):
        pipeline.publish("user_123", "tool.executed", {"workflowId": "a", "n": n}, sequence=n)

    def blocked():
        return pipeline.stack.call("GET", f"/v1/events/webhooks/{hook['id']}/ordering", key=key).json["blocked"]

    _pump_until(pipeline, lambda: bool(blocked()))
    [head] = blocked()
    down["head"] = False
    path = f"/v1/events/webhooks/{hook['id']}/deliveries/{head['headDeliveryId']}/redeliver"
    assert pipeline.stack.call("POST", path, key=key).status == 202
    _pump_until(pipeline, lambda: len(_accepted(receiver, "/ordered")) == 3)
    assert _accepted(receiver, "/ordered") == [("a", 1, False), ("a", 2, False), ("a", 3, False)]
    assert blocked() == []
