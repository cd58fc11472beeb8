"""Listen sessions on the template's own routes and pipeline (in-process moto): what a session
hands out is byte for byte what a webhook receives, signed with the session's secret; leases,
answers, expiry, the cap and tenancy."""

import base64
import json

import pytest
from standardwebhooks import Webhook

from events_core.delivery import fanout
from events_core.listen.model import SESSION_SLOTS
from tests.reference.verify import verify

TOOL_DATA = {"toolName": "erp_get_inventory", "elapsed_ms": 230, "note": "中文 ✓", "n": 1.50}


def open_session(pipeline, key, **body):
    answer = pipeline.stack.call("POST", "/v1/events/listen", key=key, body=body)
    assert answer.status == 201, answer.json
    return answer.json


def poll(pipeline, key, session_id, query="wait=0"):
    return pipeline.stack.call("GET", f"/v1/events/listen/{session_id}/next?{query}", key=key)


def report(pipeline, key, session_id, delivery_id, body=None):
    path = f"/v1/events/listen/{session_id}/deliveries/{delivery_id}/result"
    return pipeline.stack.call("POST", path, key=key, body=body or {"status": 200, "latencyMs": 7, "body": "ok"})


def test_a_session_hands_out_exactly_what_a_webhook_gets_signed_with_its_secret(pipeline, receiver):
    key = pipeline.stack.key()
    pipeline.webhook(key, receiver.url("/hook"))
    session = open_session(pipeline, key, events=["tool.executed"])
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()

    answer = poll(pipeline, key, session["sessionId"])
    assert answer.status == 200
    [delivery] = answer.json["deliveries"]
    [post] = receiver.at("/hook")
    assert delivery["body"].encode() == post.body  # the same bytes a webhook got
    headers, body = delivery["headers"], delivery["body"].encode()
    assert verify(body, headers["X-Webhook-Signature"], session["secret"])
    standard_secret = "whsec_" + base64.b64encode(session["secret"].encode()).decode()
    assert Webhook(standard_secret).verify(body, headers) == json.loads(body)
    assert headers["X-Webhook-Id"] == delivery["deliveryId"] and headers["X-Webhook-Event"] == "tool.executed"

    assert report(pipeline, key, session["sessionId"], delivery["deliveryId"]).status == 204
    assert poll(pipeline, key, session["sessionId"]).status == 204
    [record] = pipeline.records(session["sessionId"])
    assert record["status"] == "succeeded" and record["attempts"][0]["status"] == 200
    assert record["attempts"][0]["trigger"] == "listen"
    # A second report of the same answer changes nothing.
    assert report(pipeline, key, session["sessionId"], delivery["deliveryId"]).status == 204
    assert len(pipeline.records(session["sessionId"])[0]["attempts"]) == 1


def test_a_handed_out_delivery_is_leased_and_comes_back_when_unanswered(pipeline):
    key = pipeline.stack.key()
    session = open_session(pipeline, key)
    pipeline.publish("user_123", "graph.synced", {"graphId": "g"})
    pipeline.pump()
    first = poll(pipeline, key, session["sessionId"])
    assert first.status == 200
    assert poll(pipeline, key, session["sessionId"]).status == 204, "a second CLI does not get it"

    table = pipeline.stack.table("ListenTable")
    [waiting] = [item for item in pipeline.stack.items("ListenTable") if item["sk"].startswith("msg_")]
    table.update_item(
        Key={"pk": waiting["pk"], "sk": waiting["sk"]},
        UpdateExpression="SET leaseUntil = :past, readyAt = :past",  # the lease lapsed
        ExpressionAttributeValues={":past": 1},
    )
    again = poll(pipeline, key, session["sessionId"])
    assert again.json["deliveries"][0]["deliveryId"] == first.json["deliveries"][0]["deliveryId"]


def test_types_and_filters_choose_what_a_session_gets(pipeline):
    key = pipeline.stack.key()
    session = open_session(pipeline, key, events=["tool.failed"], filter={"toolName": "a"})
    pipeline.publish("user_123", "tool.failed", {"toolName": "b"})
    pipeline.publish("user_123", "tool.executed", {"toolName": "a"})
    pipeline.publish("user_123", "tool.failed", {"toolName": "a"})
    pipeline.pump()
    answer = poll(pipeline, key, session["sessionId"], "wait=0&limit=50")
    assert [json.loads(d["body"])["event"] for d in answer.json["deliveries"]] == ["tool.failed"]


def test_a_fanout_rerun_after_the_answer_hands_nothing_out_twice(pipeline):
    key = pipeline.stack.key()
    session = open_session(pipeline, key)
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    body = pipeline.sqs.receive_message(QueueUrl=pipeline.physical("EventsQueue"))["Messages"][0]["Body"]
    config = __import__("events_core.config", fromlist=["settings"]).settings()
    outbox = fanout.Outbox(config.delivery_queue_url)
    cache = fanout.SubscriptionCache(0)
    fanout.handle(body, "r1", config, cache, outbox)
    [delivery] = poll(pipeline, key, session["sessionId"]).json["deliveries"]
    report(pipeline, key, session["sessionId"], delivery["deliveryId"])
    fanout.handle(body, "r1", config, cache, outbox)  # the same event again (a re-run)
    assert poll(pipeline, key, session["sessionId"]).status == 204


def test_sessions_are_not_webhooks_and_at_most_five_live(pipeline):
    key = pipeline.stack.key()
    sessions = [open_session(pipeline, key) for _ in range(SESSION_SLOTS)]
    refused = pipeline.stack.call("POST", "/v1/events/listen", key=key, body={})
    assert refused.status == 409 and refused.error["code"] == "limit_exceeded"
    assert pipeline.stack.call("GET", "/v1/events/webhooks", key=key).json["webhooks"] == []
    listed = pipeline.stack.call("GET", "/v1/events/listen", key=key).json["sessions"]
    assert [s["sessionId"] for s in listed] == [s["sessionId"] for s in sessions]
    assert "secret" not in listed[0]
    assert pipeline.stack.call("DELETE", f"/v1/events/listen/{sessions[2]['sessionId']}", key=key).status == 204
    assert open_session(pipeline, key)["sessionId"][3] == "2"


def test_an_expired_session_gets_nothing_and_answers_404(pipeline):
    key = pipeline.stack.key()
    session = open_session(pipeline, key)
    table = pipeline.stack.table("ListenTable")
    table.update_item(
        Key={"pk": "user_123", "sk": "session#0"},
        UpdateExpression="SET expiresAtMs = :past",
        ExpressionAttributeValues={":past": 1},
    )
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    assert [i for i in pipeline.stack.items("ListenTable") if i["sk"].startswith("msg_")] == []
    assert poll(pipeline, key, session["sessionId"]).status == 404
    assert open_session(pipeline, key)["sessionId"][3] == "0", "an expired session's slot is free again"


def test_another_developers_session_is_not_found(pipeline):
    mine, theirs = pipeline.stack.key(), pipeline.stack.key("user_456")
    session = open_session(pipeline, mine)
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    [delivery] = poll(pipeline, mine, session["sessionId"]).json["deliveries"]
    sid = session["sessionId"]
    assert poll(pipeline, theirs, sid).status == 404
    assert report(pipeline, theirs, sid, delivery["deliveryId"]).status == 404
    assert pipeline.stack.call("DELETE", f"/v1/events/listen/{sid}", key=theirs).status == 404
    assert poll(pipeline, mine, "ls_9zz").status == 404


def test_bad_input_is_a_clear_400(pipeline):
    key = pipeline.stack.key()
    bad = pipeline.stack.call("POST", "/v1/events/listen", key=key, body={"events": ["nope"]})
    assert bad.status == 400 and bad.error["field"] == "events"
    session = open_session(pipeline, key)
    assert poll(pipeline, key, session["sessionId"], "wait=21").error["field"] == "wait"
    answer = report(pipeline, key, session["sessionId"], "msg_" + "0" * 32, {"latencyMs": 3})
    assert answer.status == 400 and answer.error["field"] == "status"


def test_a_failed_forward_is_history_not_a_dead_delivery(pipeline):
    key = pipeline.stack.key()
    session = open_session(pipeline, key)
    pipeline.publish("user_123", "graph.synced", {"graphId": "g"})
    pipeline.pump()
    [delivery] = poll(pipeline, key, session["sessionId"]).json["deliveries"]
    body = {"status": None, "latencyMs": 2, "error": "ConnectionRefusedError: nothing listens on :8000"}
    assert report(pipeline, key, session["sessionId"], delivery["deliveryId"], body).status == 204
    [record] = pipeline.records(session["sessionId"])
    assert record["status"] == "failed" and "failedKey" not in record
    assert record["attempts"][0]["error"].startswith("ConnectionRefusedError")


def test_a_trigger_puts_the_example_in_each_session_taking_the_type(pipeline):
    key = pipeline.stack.key()
    tools = open_session(pipeline, key, events=["tool.executed"])
    graphs = open_session(pipeline, key, events=["graph.synced"])
    answer = pipeline.stack.call("POST", "/v1/events/listen/trigger", key=key, body={"event": "tool.executed"})
    assert [q["sessionId"] for q in answer.json["queued"]] == [tools["sessionId"]]
    [delivery] = poll(pipeline, key, tools["sessionId"]).json["deliveries"]
    assert json.loads(delivery["body"])["data"]["test"] is True
    assert poll(pipeline, key, graphs["sessionId"]).status == 204
    data = {"toolName": "mine", "input": {}, "result": {}, "elapsed_ms": 1}
    given = pipeline.stack.call(
        "POST", "/v1/events/listen/trigger", key=key, body={"event": "tool.executed", "data": data}
    )
    assert given.status == 200
    [delivery] = poll(pipeline, key, tools["sessionId"]).json["deliveries"]
    assert json.loads(delivery["body"])["data"] == data
    wrong = pipeline.stack.call(
        "POST", "/v1/events/listen/trigger", key=key, body={"event": "tool.executed", "data": {"x": 1}}
    )
    assert wrong.status == 400 and wrong.error["field"] == "data", "data is validated against the catalogue"


def test_not_listening_costs_the_fanout_no_read_and_ending_removes_the_markers(pipeline, monkeypatch):
    from events_core.delivery import fanout as fanout_module

    called = []
    real = fanout_module.to_sessions
    monkeypatch.setattr(fanout_module, "to_sessions", lambda *args, **kw: called.append(args) or real(*args, **kw))
    key = pipeline.stack.key()
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    assert called == [], "no session: the sessions are never read"

    session = open_session(pipeline, key, events=["tool.executed"])
    markers = [i["webhookId"] for i in pipeline.stack.items("WebhooksTable") if i["webhookId"].startswith("~listen")]
    assert markers == ["~listen#0#tool.executed"]
    pipeline.publish("user_123", "tool.failed", TOOL_DATA)  # a type it does not take: still no read
    pipeline.pump()
    assert called == []
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    assert len(called) == 1

    assert pipeline.stack.call("DELETE", f"/v1/events/listen/{session['sessionId']}", key=key).status == 204
    assert [i for i in pipeline.stack.items("WebhooksTable") if i["webhookId"].startswith("~listen")] == []


def test_a_client_chosen_whsec_secret_signs_and_verifies_as_given_both_ways(pipeline):
    key = pipeline.stack.key()
    chosen = "whsec_" + base64.b64encode(bytes(range(32))).decode()
    session = open_session(pipeline, key, events=["tool.executed"], secret=chosen)
    assert session["secret"] == chosen
    again = open_session(pipeline, key, events=["tool.executed"], secret=chosen)  # a restart: same secret
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    for opened in (session, again):
        [delivery] = poll(pipeline, key, opened["sessionId"]).json["deliveries"]
        headers, body = delivery["headers"], delivery["body"].encode()
        assert verify(body, headers["X-Webhook-Signature"], chosen)  # the reference's snippet, secret as given
        assert Webhook(chosen).verify(body, headers) == json.loads(body)  # standardwebhooks, secret as given


@pytest.mark.parametrize(
    "secret",
    [
        "my-secret",
        "whsec_" + base64.b64encode(b"x" * 16).decode(),  # too short to be a key
        "whsec_" + base64.b64encode(b"x" * 65).decode(),  # too long
        "whsec_not base64!",
        "whsec_",
        42,
    ],
)
def test_a_secret_not_in_whsec_form_is_a_400_that_opens_nothing(pipeline, secret):
    key = pipeline.stack.key()
    answer = pipeline.stack.call("POST", "/v1/events/listen", key=key, body={"secret": secret})
    assert answer.status == 400 and answer.error["field"] == "secret"
    assert "whsec_ followed by the base64 of 24 to 64 random bytes" in answer.error["message"]
    assert pipeline.stack.call("GET", "/v1/events/listen", key=key).json["sessions"] == []
