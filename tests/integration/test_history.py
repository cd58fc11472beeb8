"""Delivery history and recovery through the API: what failed, why, and getting it back."""

import json

import pytest

from events_core import aws
from events_core.config import settings
from events_core.history import service as history
from tests.reference.verify import verify

WEBHOOKS = "/v1/events/webhooks"


def deliveries(pipeline, key: str, hook: dict, query: str = "") -> dict:
    answer = pipeline.stack.call("GET", f"{WEBHOOKS}/{hook['id']}/deliveries{query}", key=key)
    assert answer.status == 200, answer.json
    return answer.json


def test_a_failing_receiver_goes_retrying_then_dead_with_every_attempt_explained(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="0,0")
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.behave("/down", status=500, body=b"upstream exploded"))
    pipeline.publish("user_123", "tool.executed", {"n": 1})
    pipeline.source("FanoutFunction").poll_once()
    pipeline.source("DeliverFunction").poll_once()
    [retrying] = deliveries(pipeline, key, hook)["deliveries"]
    assert (retrying["status"], retrying["attemptCount"], retrying["lastStatus"]) == ("retrying", 1, 500)
    assert retrying["nextAttemptAt"] is not None and retrying["lastError"] == "HTTP 500"
    pipeline.pump()
    [dead] = deliveries(pipeline, key, hook)["deliveries"]
    assert (dead["status"], dead["attemptCount"], dead["nextAttemptAt"]) == ("dead", 3, None)
    detail = pipeline.stack.call("GET", f"{WEBHOOKS}/{hook['id']}/deliveries/{dead['deliveryId']}", key=key).json
    assert [a["attempt"] for a in detail["attempts"]] == [1, 2, 3]
    assert all(a["status"] == 500 and a["responseExcerpt"] == "upstream exploded" for a in detail["attempts"])
    assert all(a["latencyMs"] >= 0 and a["attemptedAt"] for a in detail["attempts"])
    post = receiver.at("/down")[0]
    assert detail["payload"] == post.body.decode() and post.headers["X-Webhook-Id"] == dead["deliveryId"]


def test_newest_first_pages_follow_the_cursor_and_filters_apply(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="0")
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"), filter={"ok": [True, False]})
    flaky = receiver.behave("/hook", lambda: _answer_by_turn())
    assert flaky
    for n in range(7):
        pipeline.publish(
            "user_123", "tool.executed", {"n": n, "ok": n % 3 != 0}, timestamp=f"2026-04-12T08:00:0{n}.000Z"
        )
    pipeline.pump()
    first = deliveries(pipeline, key, hook, "?limit=3")
    assert len(first["deliveries"]) == 3 and first["nextCursor"]
    times = [d["createdAt"] for d in first["deliveries"]]
    assert times == sorted(times, reverse=True) and times[0] == "2026-04-12T08:00:06.000Z"
    second = deliveries(pipeline, key, hook, f"?limit=3&cursor={first['nextCursor']}")
    third = deliveries(pipeline, key, hook, f"?limit=3&cursor={second['nextCursor']}")
    seen = [d["createdAt"] for page in (first, second, third) for d in page["deliveries"]]
    assert seen == [f"2026-04-12T08:00:0{n}.000Z" for n in range(6, -1, -1)] and third["nextCursor"] is None
    since = deliveries(pipeline, key, hook, "?since=2026-04-12T08:00:05.000Z")
    assert [d["createdAt"][17:19] for d in since["deliveries"]] == ["06", "05"]
    statuses = {d["deliveryId"]: d["status"] for d in deliveries(pipeline, key, hook, "?limit=100")["deliveries"]}
    for status in ("succeeded", "dead"):
        only = deliveries(pipeline, key, hook, f"?status={status}")["deliveries"]
        assert {d["deliveryId"] for d in only} == {i for i, s in statuses.items() if s == status} != set()


_TURN = {"n": 0}


def _answer_by_turn():
    from eventsapi.harness.receiver import Behaviour

    _TURN["n"] += 1
    return Behaviour(status=500 if json.dumps(_TURN["n"] % 3 == 0) == "true" else 200)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?limit=" + "9" * 500, "limit"),
        ("?status=lost", "status"),
        ("?since=yesterday", "since"),
        ("?cursor=not-a-cursor", "cursor"),
        ("?cursor=" + "A" * 180, "cursor"),
        ("?colour=red", "colour"),
    ],
)
def test_bad_queries_are_400(pipeline, receiver, query, field):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"))
    answer = pipeline.stack.call("GET", f"{WEBHOOKS}/{hook['id']}/deliveries{query}", key=key)
    assert answer.status == 400 and answer.error["field"] == field


def test_unknown_and_malformed_delivery_ids_are_404(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"))
    for delivery_id in ("msg_6b0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d", "nope", "msg_" + "g" * 32):
        assert pipeline.stack.call("GET", f"{WEBHOOKS}/{hook['id']}/deliveries/{delivery_id}", key=key).status == 404


def test_another_developers_delivery_is_404_even_with_its_id(pipeline, receiver):
    alice = pipeline.stack.key("alice")
    hook = pipeline.webhook(alice, receiver.url("/alice"))
    pipeline.publish("alice", "tool.executed", {"n": 1})
    pipeline.pump()
    [delivery] = deliveries(pipeline, alice, hook)["deliveries"]
    mallory = pipeline.stack.key("mallory")
    own = pipeline.webhook(mallory, receiver.url("/mallory"))
    path = f"{WEBHOOKS}/{own['id']}/deliveries/{delivery['deliveryId']}"
    assert pipeline.stack.call("GET", path, key=mallory).status == 404
    assert pipeline.stack.call("POST", f"{path}/redeliver", key=mallory).status == 404


def test_redeliver_sends_a_succeeded_one_again_with_the_same_id_and_fresh_signatures(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"), secret="first-secret")
    pipeline.publish("user_123", "tool.executed", {"n": 1})
    pipeline.pump()
    [delivery] = deliveries(pipeline, key, hook)["deliveries"]
    pipeline.stack.call(
        "POST", f"{WEBHOOKS}/{hook['id']}/secret/rotate", key=key, body={"secret": "second", "overlapSeconds": 0}
    )
    answer = pipeline.stack.call(
        "POST", f"{WEBHOOKS}/{hook['id']}/deliveries/{delivery['deliveryId']}/redeliver", key=key
    )
    assert answer.status == 202 and answer.json == {"deliveryId": delivery["deliveryId"], "queued": True}
    pipeline.pump()
    first, again = receiver.at("/hook")
    assert first.body == again.body and again.headers["X-Webhook-Id"] == delivery["deliveryId"]
    assert verify(again.body, again.headers["X-Webhook-Signature"], "second")
    assert not verify(again.body, again.headers["X-Webhook-Signature"], "first-secret")
    detail = pipeline.stack.call("GET", f"{WEBHOOKS}/{hook['id']}/deliveries/{delivery['deliveryId']}", key=key).json
    assert [a["trigger"] for a in detail["attempts"]] == ["first", "redeliver"] and detail["status"] == "succeeded"


def test_redeliver_refuses_when_the_payload_is_gone_or_the_webhook_is_off(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"))
    pipeline.publish("user_123", "tool.executed", {"n": 1})
    pipeline.pump()
    [record] = pipeline.records(hook["id"])
    path = f"{WEBHOOKS}/{hook['id']}/deliveries/{record['deliveryId']}/redeliver"
    pipeline.stack.call("PATCH", f"{WEBHOOKS}/{hook['id']}", key=key, body={"enabled": False})
    assert pipeline.stack.call("POST", path, key=key).status == 409
    pipeline.stack.call("PATCH", f"{WEBHOOKS}/{hook['id']}", key=key, body={"enabled": True})
    pipeline.stack.table("DeliveriesTable").update_item(
        Key={"webhookKey": record["webhookKey"], "deliveryId": record["deliveryId"]}, UpdateExpression="REMOVE payload"
    )
    answer = pipeline.stack.call("POST", path, key=key)
    assert (answer.status, answer.error["code"]) == (409, "payload_expired")


def test_recover_brings_every_dead_one_in_the_window_exactly_once(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="0")
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.behave("/down", status=503))
    for n in range(4):
        pipeline.publish("user_123", "tool.executed", {"n": n}, timestamp=f"2026-04-12T08:0{n}:00.000Z")
    pipeline.pump()
    assert len(deliveries(pipeline, key, hook, "?status=dead")["deliveries"]) == 4
    pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/test", key=key)  # a failed test send: not recovered
    receiver.behave("/down", status=200)
    window = {"since": "2026-04-12T08:01:00Z", "until": "2026-04-12T08:02:30Z"}
    first = pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/recover", key=key, body=window)
    again = pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/recover", key=key, body=window)
    assert (first.status, first.json["queued"], again.json["queued"]) == (202, 2, 0)
    assert first.json["window"] == {"since": "2026-04-12T08:01:00.000Z", "until": "2026-04-12T08:02:30.000Z"}
    pipeline.pump()
    healed = [json.loads(p.body)["data"]["n"] for p in receiver.at("/down") if p.answered == 200]
    assert sorted(healed) == [1, 2]
    statuses = sorted(d["status"] for d in deliveries(pipeline, key, hook)["deliveries"] if not d["test"])
    assert statuses == ["dead", "dead", "succeeded", "succeeded"]


def test_recover_is_bounded_per_call_and_a_cursor_goes_on(make_pipeline, receiver, monkeypatch):
    monkeypatch.setattr(history, "RECOVER_BATCH", 2)
    pipeline = make_pipeline(RetrySchedule="0")
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.behave("/down", status=503))
    for n in range(5):
        pipeline.publish("user_123", "tool.executed", {"n": n})
    pipeline.pump()
    receiver.behave("/down", status=200)
    queued, cursor = [], None
    while True:
        answer = pipeline.stack.call(
            "POST",
            f"{WEBHOOKS}/{hook['id']}/recover",
            key=key,
            body={"since": "2020-01-01T00:00:00Z", "cursor": cursor},
        ).json
        queued.append(answer["queued"])
        cursor = answer["nextCursor"]
        if not cursor:
            break
    assert queued == [2, 2, 1]
    pipeline.pump()
    assert len([p for p in receiver.at("/down") if p.answered == 200]) == 5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "since"),
        ({"since": "soon"}, "since"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
    ],
)
def test_a_bad_recovery_window_is_400(pipeline, receiver, body, field):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"))
    answer = pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/recover", key=key, body=body)
    assert answer.status == 400 and answer.error["field"] == field


def test_reads_follow_the_answer_not_the_table(make_pipeline, receiver):
    """A page of 5 reads about 5 items whether the webhook has 10 deliveries or 300."""
    pipeline = make_pipeline()
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"))
    table = pipeline.stack.table("DeliveriesTable")
    scanned = []
    aws.table(settings().deliveries_table).meta.client.meta.events.register(  # the functions' own client
        "after-call.dynamodb.Query", lambda parsed, **_: scanned.append(int(parsed.get("ScannedCount", 0)))
    )
    with table.batch_writer() as batch:
        for n in range(300):
            batch.put_item(
                Item={
                    "webhookKey": f"user_123#{hook['id']}",
                    "deliveryId": f"msg_{n:011x}{'0' * 21}",
                    "developerId": "user_123",
                    "webhookId": hook["id"],
                    "eventId": f"e{n}",
                    "event": "tool.executed",
                    "status": "succeeded",
                    "createdAt": "2026-04-12T08:00:00.000Z",
                    "attempt": 1,
                    "attempts": [],
                }
            )
    scanned.clear()
    page = deliveries(pipeline, key, hook, "?limit=5")
    assert len(page["deliveries"]) == 5 and sum(scanned) == 6
