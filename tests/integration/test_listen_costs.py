"""Listen at the cost of a webhook (security review M4, L2, L3's read-scope item): payloads by
reference, one copy per event; a bounded, short history; leased items out of the poll's read;
concurrent polls capped; answers capped in bytes and never leasing what they cannot send; `next`
needs write; triggers charged to the post budget and marked like test sends."""

import json

from events_core.clock import iso_ms, now_ms
from events_core.listen import repository as listen_repository
from events_core.listen import service
from events_core.listen.repository import ListenStore
from events_core.records.message import new_delivery_id

BIG = {"toolName": "t", "input": {"blob": "x" * 60_000}, "result": {}, "elapsed_ms": 1}


def open_session(pipeline, key, **body):
    answer = pipeline.stack.call("POST", "/v1/events/listen", key=key, body=body)
    assert answer.status == 201, answer.json
    return answer.json


def poll(pipeline, key, session_id, query="wait=0"):
    return pipeline.stack.call("GET", f"/v1/events/listen/{session_id}/next?{query}", key=key)


def test_one_event_into_three_sessions_is_stored_once(pipeline):
    key = pipeline.stack.key()
    sessions = [open_session(pipeline, key)["sessionId"] for _ in range(3)]
    pipeline.publish("user_123", "tool.executed", BIG)
    pipeline.pump()

    payloads = pipeline.stack.items("PayloadsTable")
    assert len(payloads) == 1 and len(payloads[0]["payload"]) > 60_000
    waiting = [i for i in pipeline.stack.items("ListenTable") if str(i["sk"]).startswith("msg_")]
    records = [r for s in sessions for r in pipeline.records(s)]
    assert len(waiting) == 3 and len(records) == 3
    assert all("payload" not in item and item["payloadRef"] for item in waiting)
    assert all(not record.get("payload") and record["payloadRef"] for record in records)
    # Stored bytes of the event across the listen, deliveries and payloads tables: one copy.
    stored = sum(len(json.dumps(item, default=str)) for item in [*waiting, *records, *payloads])
    assert stored < 2 * 60_000
    # What is handed out is still the whole payload.
    [delivery] = poll(pipeline, key, sessions[0]).json["deliveries"]
    assert json.loads(delivery["body"])["data"] == BIG


def test_a_session_keeps_its_last_deliveries_for_a_day(pipeline, monkeypatch):
    monkeypatch.setattr(listen_repository, "LISTEN_KEPT", 3)
    key = pipeline.stack.key()
    session = open_session(pipeline, key)["sessionId"]
    for n in range(5):
        pipeline.publish("user_123", "tool.executed", {"toolName": "t", "n": n})
        pipeline.pump()
    records = pipeline.records(session)
    assert len(records) == 3
    assert all(int(r["expiresAt"]) <= now_ms() // 1000 + 86_400 + 5 for r in records)


def test_leased_deliveries_are_not_read_by_the_next_poll(pipeline):
    key = pipeline.stack.key()
    session = open_session(pipeline, key)["sessionId"]
    for n in range(12):
        pipeline.publish("user_123", "tool.executed", {"toolName": "t", "n": n})
    pipeline.pump()
    assert len(poll(pipeline, key, session, "wait=0&limit=50").json["deliveries"]) == 12

    store = ListenStore()
    read = []
    real_query = store.table.query

    def counting(**query):
        answer = real_query(**query)
        read.append(answer.get("ScannedCount", len(answer.get("Items", []))))
        return answer

    store.table.query = counting  # type: ignore[method-assign]
    assert store.ready("user_123", session, now_ms(), 50) == []
    assert sum(read) == 0, "a leased item was read"


def test_a_third_poll_of_a_session_and_a_sixth_of_a_developer_are_429(pipeline):
    key = pipeline.stack.key()
    sessions = [open_session(pipeline, key)["sessionId"] for _ in range(4)]
    store, at = ListenStore(), now_ms()
    assert store.take_poll("user_123", sessions[0], "a", at, at + 20_000)
    assert store.take_poll("user_123", sessions[0], "b", at, at + 20_000)
    third = poll(pipeline, key, sessions[0])
    assert third.status == 429 and 1 <= int(third.headers["Retry-After"]) <= 21, third.json
    assert poll(pipeline, key, sessions[1]).status == 204  # another session still polls

    assert store.take_poll("user_123", sessions[1], "c", at, at + 20_000)
    assert store.take_poll("user_123", sessions[2], "d", at, at + 20_000)
    assert store.take_poll("user_123", sessions[3], "e", at, at + 20_000)
    sixth = poll(pipeline, key, sessions[3])
    assert sixth.status == 429 and sixth.headers["Retry-After"], sixth.json
    # Another developer is not affected; a finished poll gives its slots back.
    other = pipeline.stack.key("user_other")
    assert poll(pipeline, other, open_session(pipeline, other)["sessionId"]).status == 204
    store.release_poll("user_123", sessions[0], "a")
    assert poll(pipeline, key, sessions[0]).status == 204
    # A crashed poll's slots lapse.
    later = at + 30_000
    assert store.take_poll("user_123", sessions[0], "f", later, later + 20_000)


def test_an_answer_stays_below_lambdas_limit_and_leases_only_what_it_sends(pipeline):
    key = pipeline.stack.key()
    session_id = open_session(pipeline, key)["sessionId"]
    store = ListenStore()
    [session] = [s for s in store.sessions_of("user_123") if s.session_id == session_id]
    at = now_ms()
    escape_heavy = json.dumps({"event": "tool.executed", "data": {"q": '"\\' * 100_000}})  # ~4x when escaped twice
    for n in range(12):
        event_id = f"evt_{n}"
        service.store_payload("user_123", event_id, escape_heavy, at)
        waiting, record = service.waiting_for(
            session, event_id, "tool.executed", iso_ms(at), new_delivery_id(at + n), at_ms=at
        )
        assert service.enqueue(store, waiting, record)
    handed = service.next_deliveries("user_123", session_id, wait_seconds=0, limit=50)
    wire = sum(service.wire_bytes(entry) for entry in handed) + service.ANSWER_ENVELOPE_BYTES
    assert 0 < len(handed) < 12 and wire <= service.MAX_ANSWER_BYTES < 6 * 1024 * 1024
    leased = [i for i in pipeline.stack.items("ListenTable") if "leaseUntil" in i]
    assert len(leased) == len(handed), "what did not fit was leased"
    rest = service.next_deliveries("user_123", session_id, wait_seconds=0, limit=50)
    assert {d["deliveryId"] for d in rest}.isdisjoint(d["deliveryId"] for d in handed) and rest


def test_next_needs_the_write_scope_as_well_as_read(pipeline):
    key = pipeline.stack.key()
    session = open_session(pipeline, key)["sessionId"]
    read_only = pipeline.stack.key(scopes=("read",))
    write_only = pipeline.stack.key(scopes=("write",))
    assert poll(pipeline, read_only, session).status == 403
    assert poll(pipeline, write_only, session).status == 403
    assert not [i for i in pipeline.stack.items("ListenTable") if str(i["sk"]).startswith("poll#")]


def test_a_trigger_is_marked_like_a_test_send_and_charged_to_the_post_budget(make_pipeline):
    pipeline = make_pipeline(PostBudgetBurst="3", PostBudgetPerMinute="1")
    key = pipeline.stack.key()
    sessions = [open_session(pipeline, key)["sessionId"] for _ in range(2)]
    data = {"toolName": "erp", "input": {}, "result": {"total": 1}, "elapsed_ms": 5}
    answer = pipeline.stack.call(
        "POST", "/v1/events/listen/trigger", key=key, body={"event": "tool.executed", "data": data}
    )
    assert answer.status == 200 and len(answer.json["queued"]) == 2
    [delivery] = poll(pipeline, key, sessions[0]).json["deliveries"]
    body = json.loads(delivery["body"])
    assert body["test"] is True and body["data"] == data and list(body)[:3] == ["event", "timestamp", "test"]
    assert delivery["headers"]["X-Webhook-Test"] == "true"
    assert len(pipeline.stack.items("PayloadsTable")) == 1  # one copy for both sessions

    # 2 of 3 posts spent: the next trigger gets the last one, the one after is refused.
    assert (
        len(
            pipeline.stack.call("POST", "/v1/events/listen/trigger", key=key, body={"event": "tool.executed"}).json[
                "queued"
            ]
        )
        == 1
    )
    spent = pipeline.stack.call("POST", "/v1/events/listen/trigger", key=key, body={"event": "tool.executed"})
    assert spent.status == 429 and spent.error["code"] == "budget_exceeded" and spent.headers["Retry-After"]
