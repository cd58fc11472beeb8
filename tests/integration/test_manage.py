"""Managing a webhook after creating it: read, change, pause and re-enable, test, rotate its secret,
and the per-developer cap. Same auth, scopes, call log, errors and 404 rules as the reference routes."""

import base64
import json
import threading
import time

import pytest
from standardwebhooks import Webhook as StandardWebhook

from tests.reference.verify import verify

WEBHOOKS = "/v1/events/webhooks"
DATA = {"toolName": "erp_get_inventory", "elapsed_ms": 230}
FOREIGN_ROUTES = [
    ("GET", ""),
    ("PATCH", ""),
    ("DELETE", ""),
    ("POST", "/test"),
    ("POST", "/secret/rotate"),
    ("GET", "/deliveries"),
    ("GET", "/deliveries/msg_6b0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d"),
    ("POST", "/deliveries/msg_6b0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d/redeliver"),
    ("POST", "/recover"),
]
BODIES = {"PATCH": {"description": "x"}, "/recover": {"since": "2026-01-01T00:00:00Z"}}


def body_for(method: str, suffix: str) -> dict | None:
    return BODIES.get(suffix) or BODIES.get(method) or ({} if method == "POST" else None)


@pytest.mark.parametrize(("method", "suffix"), FOREIGN_ROUTES)
def test_another_developers_webhook_is_404_on_every_route(pipeline, receiver, method, suffix):
    alices = pipeline.webhook(pipeline.stack.key("alice"), receiver.url("/alice"))
    bob = pipeline.stack.key("bob")
    answer = pipeline.stack.call(method, f"{WEBHOOKS}/{alices['id']}{suffix}", key=bob, body=body_for(method, suffix))
    assert answer.status == 404 and answer.error["code"] == "not_found"
    assert (
        pipeline.stack.call(method, f"{WEBHOOKS}/nothex{suffix}", key=bob, body=body_for(method, suffix)).status == 404
    )


@pytest.mark.parametrize(("method", "suffix"), [r for r in FOREIGN_ROUTES if r[0] != "GET"])
def test_read_only_keys_may_not_write(pipeline, receiver, method, suffix):
    hook = pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    reader = pipeline.stack.key(scopes=("read",))
    answer = pipeline.stack.call(method, f"{WEBHOOKS}/{hook['id']}{suffix}", key=reader, body=body_for(method, suffix))
    assert answer.status == 403 and "write" in answer.error["message"]


def test_get_one_webhook(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"), description="orders → ERP")
    got = pipeline.stack.call("GET", f"{WEBHOOKS}/{hook['id']}", key=key)
    assert got.status == 200 and got.json == hook and got.json["description"] == "orders → ERP"


def test_patch_changes_each_field_validated_as_on_create(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/old"))
    changed = pipeline.stack.call(
        "PATCH",
        f"{WEBHOOKS}/{hook['id']}",
        key=key,
        body={"url": receiver.url("/new"), "event": "tool.failed", "filter": {"n": 1}, "description": "moved"},
    )
    assert changed.status == 200
    assert (changed.json["url"], changed.json["event"], changed.json["filter"]) == (
        receiver.url("/new"),
        "tool.failed",
        {"n": 1},
    )
    assert changed.json["updatedAt"] > hook["updatedAt"] and changed.json["createdAt"] == hook["createdAt"]
    # Moved in the fan-out index at once: the old event type no longer reaches it, the new one does.
    pipeline.publish("user_123", "tool.executed", {"n": 1})
    pipeline.publish("user_123", "tool.failed", {"n": 1})
    pipeline.pump()
    assert [json.loads(p.body)["event"] for p in receiver.at("/new")] == ["tool.failed"] and receiver.at("/old") == []


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({}, None, "nothing to change"),
        ({"secret": "s"}, "secret", "secret/rotate"),
        ({"colour": "red"}, "colour", "unknown field"),
        ({"url": "https://10.0.0.1/h"}, "url", "private"),
        ({"url": "http://example.com/h"}, "url", "https://"),
        ({"event": "tool.started"}, "event", "unknown event type"),
        ({"filter": {"a": [{"regex": "x"}]}}, "filter", "unknown operator"),
        ({"enabled": "yes"}, "enabled", "true or false"),
        ({"description": "x" * 257}, "description", "256"),
        ({"description": "a\u0000b"}, "description", "control"),
        ({"description": None}, "description", "string"),
    ],
)
def test_a_bad_patch_is_400_naming_the_field_and_changes_nothing(make_stack, body, field, says):
    stack = make_stack()
    key = stack.key()
    hook = stack.call("POST", WEBHOOKS, key=key, body={"event": "tool.executed", "url": "https://example.com/h"}).json
    answer = stack.call("PATCH", f"{WEBHOOKS}/{hook['id']}", key=key, body=body)
    assert answer.status == 400 and says in answer.error["message"] and answer.error.get("field") == field
    assert stack.call("GET", f"{WEBHOOKS}/{hook['id']}", key=key).json == hook


def test_pause_then_reenable(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"))
    paused = pipeline.stack.call("PATCH", f"{WEBHOOKS}/{hook['id']}", key=key, body={"enabled": False}).json
    assert (paused["enabled"], paused["disabledReason"]) == (False, "manual")
    pipeline.publish("user_123", "tool.executed", {"n": 1})
    pipeline.pump()
    assert receiver.received == []
    assert pipeline.records(hook["id"]) == [], "not subscribed while paused: nothing queued, nothing dead"
    enabled = pipeline.stack.call("PATCH", f"{WEBHOOKS}/{hook['id']}", key=key, body={"enabled": True}).json
    assert (enabled["enabled"], enabled["disabledReason"], enabled["failCount"]) == (True, None, 0)
    pipeline.publish("user_123", "tool.executed", {"n": 2})
    pipeline.pump()
    assert [json.loads(p.body)["data"] for p in receiver.at("/hook")] == [{"n": 2}]


def test_posts_queued_before_a_pause_end_as_dead_deliveries_to_recover(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"))
    pipeline.publish("user_123", "tool.executed", {"n": 1})
    pipeline.source("FanoutFunction").poll_once()  # queued while enabled
    pipeline.stack.call("PATCH", f"{WEBHOOKS}/{hook['id']}", key=key, body={"enabled": False})
    pipeline.pump()
    assert receiver.received == []
    [record] = pipeline.records(hook["id"])
    assert (record["status"], record["lastError"], int(record["attempt"])) == ("dead", "webhook disabled", 0)
    [dead] = pipeline.dead_letters("DeliveryDeadLetterQueue")
    assert dead["reason"] == "webhook disabled"
    pipeline.stack.call("PATCH", f"{WEBHOOKS}/{hook['id']}", key=key, body={"enabled": True})
    answer = pipeline.stack.call(
        "POST", f"{WEBHOOKS}/{hook['id']}/recover", key=key, body={"since": "2020-01-01T00:00:00Z"}
    )
    assert (answer.status, answer.json["queued"]) == (202, 1)
    pipeline.pump()
    assert [json.loads(p.body)["data"] for p in receiver.at("/hook")] == [{"n": 1}]


def test_a_webhook_disabled_by_a_410_is_reenabled_and_receives_again(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.behave("/gone", status=410))
    pipeline.publish("user_123", "tool.executed", {"n": 1})
    pipeline.pump()
    assert pipeline.listed(key)[hook["id"]]["disabledReason"] == "gone"
    receiver.behave("/gone", status=200)
    pipeline.stack.call("PATCH", f"{WEBHOOKS}/{hook['id']}", key=key, body={"enabled": True})
    pipeline.publish("user_123", "tool.executed", {"n": 2})
    pipeline.pump()
    assert [p.answered for p in receiver.at("/gone")] == [410, 200]


def test_a_test_send_is_signed_recorded_and_changes_no_counter(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"), secret="my-webhook-secret")
    pipeline.stack.call("PATCH", f"{WEBHOOKS}/{hook['id']}", key=key, body={"enabled": False})
    before = pipeline.listed(key)[hook["id"]]
    answer = pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/test", key=key)
    assert answer.status == 200
    assert (answer.json["delivered"], answer.json["status"], answer.json["error"]) == (True, 200, None)
    [post] = receiver.at("/hook")
    body = json.loads(post.body)
    assert body["event"] == "tool.executed" and body["data"]["test"] is True and "toolName" in body["data"]
    assert verify(post.body, post.headers["X-Webhook-Signature"], "my-webhook-secret")
    assert post.headers["X-Webhook-Id"] == answer.json["deliveryId"]
    assert pipeline.listed(key)[hook["id"]] == before, "failCount, lastTriggered and enabled untouched"
    [record] = pipeline.records(hook["id"])
    assert record["test"] is True and record["attempts"][0]["trigger"] == "test"


ALERT = {"alertType": "test", "source": "events-api", "message": "hello", "severity": "info", "x": 1}


def test_a_test_send_takes_the_event_and_data_given_and_reports_a_failure(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.behave("/down", status=503, body=b"maintenance"))
    answer = pipeline.stack.call(
        "POST", f"{WEBHOOKS}/{hook['id']}/test", key=key, body={"event": "alert.triggered", "data": ALERT}
    )
    assert (answer.json["delivered"], answer.json["status"], answer.json["error"]) == (False, 503, "HTTP 503")
    assert json.loads(receiver.at("/down")[0].body) | {"timestamp": None} == {
        "event": "alert.triggered",
        "timestamp": None,
        "test": True,  # review N3: a test post says so in its signed body
        "data": ALERT,
    }
    assert pipeline.listed(key)[hook["id"]]["failCount"] == 0


def test_a_test_send_goes_through_the_ssrf_guard(make_pipeline, receiver):
    pipeline = make_pipeline(AllowedPrivateNetworks="")
    key = pipeline.stack.key()
    hook = pipeline.stack.call("POST", WEBHOOKS, key=key, body={"event": "tool.executed", "url": "http://localhost/x"})
    assert hook.status == 400  # refused at registration already; and at send time by the resolver
    answer = pipeline.stack.call("POST", f"{WEBHOOKS}/6b0b00000000000000000000/test", key=key)
    assert answer.status == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [({"event": "nope"}, "event"), ({"data": [1]}, "data"), ({"extra": 1}, "extra")],
)
def test_a_bad_test_body_is_400(pipeline, receiver, body, field):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"))
    answer = pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/test", key=key, body=body)
    assert answer.status == 400 and answer.error["field"] == field and receiver.received == []


def standard(secret: str) -> StandardWebhook:
    return StandardWebhook("whsec_" + base64.b64encode(secret.encode()).decode())


def test_rotation_overlap_then_only_the_new_secret(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"), secret="old-secret")
    rotated = pipeline.stack.call(
        "POST", f"{WEBHOOKS}/{hook['id']}/secret/rotate", key=key, body={"overlapSeconds": 2}
    ).json
    new = rotated["secret"]
    assert len(new) >= 32 and rotated["previousSecretValidUntil"] and rotated["hasSecret"] is True
    # During the overlap: a receiver holding either secret verifies, by either scheme.
    pipeline.publish("user_123", "tool.executed", DATA)
    pipeline.pump()
    [post] = receiver.at("/hook")
    assert verify(post.body, post.headers["X-Webhook-Signature"], new)
    assert verify(post.body, post.headers["X-Webhook-Signature-Previous"], "old-secret")
    assert standard(new).verify(post.body, post.headers) and standard("old-secret").verify(post.body, post.headers)
    time.sleep(2.2)
    pipeline.publish("user_123", "tool.executed", DATA)
    pipeline.pump()
    [_, after] = receiver.at("/hook")
    assert verify(after.body, after.headers["X-Webhook-Signature"], new)
    assert "X-Webhook-Signature-Previous" not in after.headers
    assert standard(new).verify(after.body, after.headers)
    with pytest.raises(Exception, match="No matching signature"):
        standard("old-secret").verify(after.body, after.headers)


def test_a_given_secret_is_never_answered_and_a_webhook_without_one_gains_one(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"))
    assert hook["hasSecret"] is False
    rotated = pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/secret/rotate", key=key, body={"secret": "mine-1"})
    assert rotated.status == 200 and "secret" not in rotated.json and b"mine-1" not in rotated.raw
    assert rotated.json["hasSecret"] is True and "previousSecretValidUntil" not in rotated.json
    pipeline.publish("user_123", "tool.executed", DATA)
    pipeline.pump()
    [post] = receiver.at("/hook")
    assert (
        verify(post.body, post.headers["X-Webhook-Signature"], "mine-1")
        and "X-Webhook-Signature-Previous" not in post.headers
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"overlapSeconds": -1}, "overlapSeconds"),
        ({"overlapSeconds": 604801}, "overlapSeconds"),
        ({"secret": ""}, "secret"),
        ({"x": 1}, "x"),
    ],
)
def test_a_bad_rotation_is_400(pipeline, receiver, body, field):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"))
    answer = pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/secret/rotate", key=key, body=body)
    assert answer.status == 400 and answer.error["field"] == field


def test_the_cap_is_409_and_writes_nothing(make_stack):
    stack = make_stack(MaxWebhooksPerDeveloper="3")
    key = stack.key()
    body = {"event": "tool.executed", "url": "https://example.com/h"}
    assert [stack.call("POST", WEBHOOKS, key=key, body=body).status for _ in range(3)] == [201] * 3
    refused = stack.call("POST", WEBHOOKS, key=key, body=body)
    assert (refused.status, refused.error["code"]) == (409, "limit_exceeded")
    assert len(stack.call("GET", WEBHOOKS, key=key).json["webhooks"]) == 3
    # Another developer has a cap of their own; deleting one frees a place.
    assert stack.call("POST", WEBHOOKS, key=stack.key("bob"), body=body).status == 201
    first = stack.call("GET", WEBHOOKS, key=key).json["webhooks"][0]
    assert stack.call("DELETE", f"{WEBHOOKS}/{first['id']}", key=key).status == 200
    assert stack.call("POST", WEBHOOKS, key=key, body=body).status == 201


def test_parallel_creates_at_the_cap_cannot_both_succeed(make_stack):
    stack = make_stack(MaxWebhooksPerDeveloper="2", DeveloperBurstLimit="100")
    key = stack.key()
    body = {"event": "tool.executed", "url": "https://example.com/h"}
    assert stack.call("POST", WEBHOOKS, key=key, body=body).status == 201
    statuses: list[int] = []
    start = threading.Barrier(6)

    def create() -> None:
        start.wait()
        statuses.append(stack.call("POST", WEBHOOKS, key=key, body=body).status)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == 6 and statuses.count(201) <= 1 and set(statuses) <= {201, 409, 503}
    assert len(stack.call("GET", WEBHOOKS, key=key).json["webhooks"]) <= 2


def test_every_management_call_is_logged(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"))
    pipeline.stack.call("GET", f"{WEBHOOKS}/{hook['id']}", key=key)
    pipeline.stack.call("PATCH", f"{WEBHOOKS}/{hook['id']}", key=key, body={"description": "d"})
    pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/test", key=key)
    logs = pipeline.stack.call("GET", "/v1/events/logs", key=key).json["logs"]
    assert [(log["method"], log["status"]) for log in logs[:3]] == [("POST", 200), ("PATCH", 200), ("GET", 200)]
