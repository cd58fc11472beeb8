"""Review 2026-11-30, API side: what one tenant could cost the others through the API, each
finding's reproduction as a test (N1 hostile bodies, N3 forged test sends, N4 post budgets, N5
recover chunks and crash safety, N6 cursors, N8 bounded test history)."""

import base64
import json
from types import SimpleNamespace

import pytest

from events_core import cursors
from events_core.config import settings
from events_core.delivery import queues
from events_core.history import service as history
from events_core.records.store import DeliveryStore
from events_core.schemas import declared
from eventsapi.harness.pathological import pathological_bodies

WEBHOOKS = "/v1/events/webhooks"


def _dead(pipeline, key, receiver, count: int) -> dict:
    hook = pipeline.webhook(key, receiver.behave("/down", status=503))
    for n in range(count):
        pipeline.publish("user_123", "tool.executed", {"n": n})
    pipeline.pump()
    receiver.behave("/down", status=200)
    return hook


def _recover(pipeline, key, hook, **body):
    return pipeline.stack.call(
        "POST", f"{WEBHOOKS}/{hook['id']}/recover", key=key, body={"since": "2020-01-01T00:00:00Z", **body}
    )


# -- N1: every pathological body is a plain 400 (or accepted), on every write route
@pytest.mark.parametrize("route", ["", "/{id}/test", "/{id}/recover", "/{id}/secret/rotate"])
def test_pathological_bodies_are_answered_without_a_5xx(pipeline, receiver, route):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/ok"))
    for name, body in pathological_bodies(16 * 1024).items():
        path = WEBHOOKS + route.format(id=hook["id"])
        answer = pipeline.stack.call("POST", path, key=key, raw=body.encode())
        assert answer.status < 500, (name, answer.status, answer.json)


# -- N3: a test send cannot be passed off as a platform event
def test_a_test_post_is_marked_inside_the_signed_body_and_in_a_header(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/echo"))
    # The caller's data (it must match the type's schema) even says test: false; it cannot win.
    data = {**declared("workflow.completed").example, "workflowId": "wf_payroll", "test": False}
    forged = {"event": "workflow.completed", "data": data}
    answer = pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/test", key=key, body=forged)
    assert answer.status == 200 and answer.json["delivered"]
    [post] = receiver.at("/echo")
    body = json.loads(post.body)
    assert body["test"] is True and body["data"]["test"] is False  # the caller's data cannot override it
    assert list(body) == ["event", "timestamp", "test", "data"]
    assert post.headers["X-Webhook-Test"] == "true"
    assert post.headers["X-Webhook-Event"] == "workflow.completed"  # the real type, as the README says


def test_an_ordinary_delivery_carries_no_test_marker(pipeline, receiver):
    key = pipeline.stack.key()
    pipeline.webhook(key, receiver.url("/real"))
    pipeline.publish("user_123", "tool.executed", {"test": True})
    pipeline.pump()
    [post] = receiver.at("/real")
    assert "test" not in json.loads(post.body) and "X-Webhook-Test" not in post.headers


# -- N4: posts a developer asks for spend a budget; spent, they are a 429 with Retry-After
def test_test_sends_spend_the_webhooks_post_budget(make_pipeline, receiver):
    pipeline = make_pipeline(WebhookPostBudgetBurst="3", WebhookPostBudgetPerMinute="1")
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/ok"))
    statuses = [pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/test", key=key).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    spent = pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/test", key=key)
    assert spent.error["code"] == "budget_exceeded" and int(spent.headers["Retry-After"]) >= 1
    assert len(receiver.at("/ok")) == 3  # nothing was posted past the budget
    other = pipeline.webhook(key, receiver.url("/other"))  # another webhook has its own budget
    assert pipeline.stack.call("POST", f"{WEBHOOKS}/{other['id']}/test", key=key).status == 200


def test_recover_is_bounded_by_the_developers_post_budget(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="0", PostBudgetBurst="3", PostBudgetPerMinute="1")
    key = pipeline.stack.key()
    hook = _dead(pipeline, key, receiver, 5)
    first = _recover(pipeline, key, hook)
    assert (first.status, first.json["queued"]) == (202, 3) and first.json["nextCursor"]
    spent = _recover(pipeline, key, hook, cursor=first.json["nextCursor"])
    assert (spent.status, spent.error["code"]) == (429, "budget_exceeded") and "Retry-After" in spent.headers
    pipeline.pump()
    assert len([p for p in receiver.at("/down") if p.answered == 200]) == 3


def test_redeliver_spends_the_budget_too(make_pipeline, receiver):
    pipeline = make_pipeline(WebhookPostBudgetBurst="2", WebhookPostBudgetPerMinute="1")
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/ok"))
    pipeline.publish("user_123", "tool.executed", {"n": 1})
    pipeline.pump()
    [record] = pipeline.records(hook["id"])
    path = f"{WEBHOOKS}/{hook['id']}/deliveries/{record['deliveryId']}/redeliver"
    assert [pipeline.stack.call("POST", path, key=key).status for _ in range(2)] == [202, 202]
    assert pipeline.stack.call("POST", path, key=key).error["code"] == "budget_exceeded"


# -- N5: recover in chunks, queued before marked, never a pending record without its message
def test_a_crash_after_queueing_leaves_nothing_pending_without_a_message(make_pipeline, receiver, monkeypatch):
    pipeline = make_pipeline(RetrySchedule="0")
    key = pipeline.stack.key()
    hook = _dead(pipeline, key, receiver, 3)

    def crash(*args, **kwargs):
        raise RuntimeError("the function died here")

    monkeypatch.setattr(DeliveryStore, "requeued", crash)  # dies between queueing and marking
    with pytest.raises(RuntimeError):
        history.recover("user_123", hook["id"], {"since": "2020-01-01T00:00:00Z"})
    monkeypatch.undo()
    assert all(r["status"] == "dead" for r in pipeline.records(hook["id"]))  # nothing marked pending
    pipeline.pump()  # ...and every message was queued: each arrives, once
    healed = [json.loads(p.body)["data"]["n"] for p in receiver.at("/down") if p.answered == 200]
    assert sorted(healed) == [0, 1, 2]
    assert all(r["status"] == "succeeded" for r in pipeline.records(hook["id"]))


def test_a_refused_queue_leaves_records_dead_for_the_next_call(make_pipeline, receiver, monkeypatch):
    pipeline = make_pipeline(RetrySchedule="0")
    key = pipeline.stack.key()
    hook = _dead(pipeline, key, receiver, 2)
    monkeypatch.setattr(queues, "send_all", lambda url, messages, client=None: list(messages))
    assert _recover(pipeline, key, hook).status == 503
    monkeypatch.undo()
    assert [r["status"] for r in pipeline.records(hook["id"])] == ["dead", "dead"]
    assert _recover(pipeline, key, hook).json["queued"] == 2


def test_recover_works_in_chunks_and_stops_at_its_byte_bound(make_pipeline, receiver, monkeypatch):
    monkeypatch.setattr(history, "RECOVER_CHUNK", 2)
    monkeypatch.setattr(history, "RECOVER_BYTES", 1)  # one chunk's payloads already exceed it
    pipeline = make_pipeline(RetrySchedule="0")
    key = pipeline.stack.key()
    hook = _dead(pipeline, key, receiver, 5)
    queued, cursor = [], None
    while True:
        answer = _recover(pipeline, key, hook, **({"cursor": cursor} if cursor else {})).json
        queued.append(answer["queued"])
        cursor = answer["nextCursor"]
        if not cursor:
            break
    assert queued[:3] == [2, 2, 1] and sum(queued) == 5


def test_recover_reads_keys_only_before_a_chunk(make_pipeline, receiver, monkeypatch):
    pipeline = make_pipeline(RetrySchedule="0")
    key = pipeline.stack.key()
    hook = _dead(pipeline, key, receiver, 2)
    queries = []
    original = DeliveryStore.dead_keys

    def spy(self, *args, **kwargs):
        table = self.table
        real_query = table.query

        def query(**request):
            queries.append(request)
            return real_query(**request)

        self.table = type("Spy", (), {"query": staticmethod(query), "name": table.name, "meta": table.meta})()
        try:
            return original(self, *args, **kwargs)
        finally:
            self.table = table

    monkeypatch.setattr(DeliveryStore, "dead_keys", spy)
    assert _recover(pipeline, key, hook).json["queued"] == 2
    assert queries and all(q["ProjectionExpression"] == "deliveryId, #attempt" for q in queries)


def test_redeliver_of_a_delivery_being_attempted_is_a_conflict(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/ok"))
    pipeline.publish("user_123", "tool.executed", {"n": 1})
    pipeline.pump()
    [record] = pipeline.records(hook["id"])
    pipeline.stack.table("DeliveriesTable").update_item(
        Key={"webhookKey": record["webhookKey"], "deliveryId": record["deliveryId"]},
        UpdateExpression="SET leaseUntil = :far",
        ExpressionAttributeValues={":far": 9_999_999_999_999},
    )
    path = f"{WEBHOOKS}/{hook['id']}/deliveries/{record['deliveryId']}/redeliver"
    answer = pipeline.stack.call("POST", path, key=key)
    assert (answer.status, answer.error["code"]) == (409, "conflict")


# -- N6: cursors are signed, bound to their query, and parsed with bounds
def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


FORGED = {
    "nested 20,000 deep": _b64(b"[" * 20000),
    "plain old-style": _b64(b'{"after":"msg_6b0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d"}'),
    "signed-looking": "v1." + _b64(b'{"after":"msg_6b0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d"}') + "." + _b64(b"x" * 16),
    "over the length limit": "v1." + "A" * 600,
    "not base64": "v1.%%%.***",
    "empty": "",
}


@pytest.mark.parametrize("shape", list(FORGED))
def test_forged_cursors_are_400_invalid_cursor_never_500(pipeline, receiver, shape):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/ok"))
    cursor = FORGED[shape]
    listed = pipeline.stack.call("GET", f"{WEBHOOKS}/{hook['id']}/deliveries?cursor={cursor}", key=key)
    recovered = _recover(pipeline, key, hook, cursor=cursor)
    for answer in (listed, recovered):
        if shape == "empty" and answer is listed:
            continue  # an empty query value is no cursor at all
        assert (answer.status, answer.error["code"], answer.error["field"]) == (400, "invalid_cursor", "cursor")


def test_a_cursor_is_refused_for_another_webhook_filter_or_window(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="0")
    key = pipeline.stack.key()
    hook = _dead(pipeline, key, receiver, 3)
    other = pipeline.webhook(key, receiver.url("/other"))
    page = pipeline.stack.call("GET", f"{WEBHOOKS}/{hook['id']}/deliveries?limit=1", key=key).json
    cursor = page["nextCursor"]
    assert (
        pipeline.stack.call("GET", f"{WEBHOOKS}/{hook['id']}/deliveries?limit=1&cursor={cursor}", key=key).status == 200
    )
    elsewhere = [
        f"{WEBHOOKS}/{other['id']}/deliveries?cursor={cursor}",
        f"{WEBHOOKS}/{hook['id']}/deliveries?status=dead&cursor={cursor}",
        f"{WEBHOOKS}/{hook['id']}/deliveries?since=2020-01-01T00:00:00Z&cursor={cursor}",
        f"{WEBHOOKS}/{hook['id']}/deliveries?cursor={cursor[:-2]}",
    ]
    for path in elsewhere:
        answer = pipeline.stack.call("GET", path, key=key)
        assert (answer.status, answer.error["code"]) == (400, "invalid_cursor"), path
    list_cursor_on_recover = _recover(pipeline, key, hook, cursor=cursor)
    assert (list_cursor_on_recover.status, list_cursor_on_recover.error["code"]) == (400, "invalid_cursor")


def test_a_recover_cursor_keeps_its_window(make_pipeline, receiver, monkeypatch):
    monkeypatch.setattr(history, "RECOVER_BATCH", 1)
    pipeline = make_pipeline(RetrySchedule="0")
    key = pipeline.stack.key()
    hook = _dead(pipeline, key, receiver, 2)
    first = _recover(pipeline, key, hook, until="2099-01-01T00:00:00Z").json
    moved = _recover(pipeline, key, hook, until="2098-01-01T00:00:00Z", cursor=first["nextCursor"])
    assert (moved.status, moved.error["code"]) == (400, "invalid_cursor")
    kept = _recover(pipeline, key, hook, cursor=first["nextCursor"]).json  # until comes from the cursor
    assert kept["queued"] == 1 and kept["window"]["until"] == "2099-01-01T00:00:00.000Z"


def test_a_paging_validation_exception_is_a_400(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/ok"))
    scope = {"route": "deliveries", "key": f"user_123#{hook['id']}", "status": None, "since": None}
    cursor = cursors.seal({"after": "msg_6b0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d"}, scope)

    def refuse(params, **kwargs):  # what real DynamoDB answers a start key outside the key condition
        if b"ExclusiveStartKey" in params["body"]:
            return SimpleNamespace(status_code=400), {"Error": {"Code": "ValidationException", "Message": "key"}}
        return None

    events = DeliveryStore().table.meta.client.meta.events  # the functions' own (per-environment) client
    events.register("before-call.dynamodb.Query", refuse)
    try:
        answer = pipeline.stack.call("GET", f"{WEBHOOKS}/{hook['id']}/deliveries?cursor={cursor}", key=key)
    finally:
        events.unregister("before-call.dynamodb.Query", refuse)
    assert (answer.status, answer.error["code"]) == (400, "invalid_cursor")


# -- N8: a webhook keeps a bounded history of test sends
def test_a_webhook_keeps_only_its_last_test_sends(make_pipeline, receiver, monkeypatch):
    from events_core.delivery import probe_history

    monkeypatch.setattr(probe_history, "KEPT", 3)
    pipeline = make_pipeline()
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/ok"))
    sent = [pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/test", key=key).json["deliveryId"] for _ in range(5)]
    kept = [r["deliveryId"] for r in pipeline.records(hook["id"]) if r.get("test")]
    assert kept == sent[-3:]
    assert settings().control_table  # the ring lives in the ControlTable


def test_a_page_of_deliveries_never_holds_their_payloads(pipeline, receiver):
    """Review N5 (related): listing read whole records, payloads included, to show none of them."""
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/ok"))
    pipeline.publish("user_123", "tool.executed", {"blob": "x" * 3000})
    pipeline.pump()
    assert pipeline.records(hook["id"])[0].get("payload") or pipeline.records(hook["id"])[0].get("payloadRef")
    page = DeliveryStore().page("user_123", hook["id"], limit=10)
    assert [record.payload for record in page.records] == [None] and page.records[0].attempts == []
    assert page.records[0].status.value == "succeeded" and page.records[0].attempt == 1
