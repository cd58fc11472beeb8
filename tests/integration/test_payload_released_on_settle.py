"""Retention `payloadDays: 0`: an event's payload, stored once for all its deliveries, is removed
when the last delivery naming it settles (delivered or dead; a listen delivery when answered),
without the sweep; not before, and never for a developer who keeps payloads. A delivery whose
payload is gone answers redeliver with a 409 naming why, never a 5xx."""

import time

WEBHOOKS = "/v1/events/webhooks"
BIG = {"toolName": "erp", "input": {"prompt": "p" * 6000}, "result": {}, "elapsed_ms": 1}


def choose_zero(pipeline, key):
    body = {"retention": {"payloadDays": 0}}
    assert pipeline.stack.call("PATCH", "/v1/events/settings", key=key, body=body).status == 200


def stored(pipeline, developer):
    return [item for item in pipeline.stack.items("PayloadsTable") if item["developerId"] == developer]


def test_the_payload_goes_when_the_last_of_two_webhooks_settles_without_the_sweep(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="1")
    key = pipeline.stack.key("dev_zero")
    choose_zero(pipeline, key)
    ok = pipeline.webhook(key, receiver.url("/zero/ok"))
    down = pipeline.webhook(key, receiver.behave("/zero/down", status=503))
    pipeline.publish("dev_zero", "tool.executed", BIG)
    pipeline.source("FanoutFunction").poll_once()
    pipeline.source("DeliverFunction").poll_once()

    [delivered], [retrying] = pipeline.records(ok["id"]), pipeline.records(down["id"])
    assert (delivered["status"], retrying["status"]) == ("succeeded", "retrying")
    [payload] = stored(pipeline, "dev_zero")  # the retrying delivery still needs it
    assert payload["refs"] == 1

    time.sleep(1.2)
    pipeline.pump()
    [dead] = pipeline.records(down["id"])
    assert dead["status"] == "dead"
    assert stored(pipeline, "dev_zero") == []  # both settled: gone, and no sweep ran

    path = f"{WEBHOOKS}/{ok['id']}/deliveries/{delivered['deliveryId']}/redeliver"
    answer = pipeline.stack.call("POST", path, key=key)
    assert (answer.status, answer.error["code"]) == (409, "payload_retention")
    # Back to keeping payloads: the bytes are still gone, and redeliver says so (not a 5xx).
    body = {"retention": {"payloadDays": None}}
    assert pipeline.stack.call("PATCH", "/v1/events/settings", key=key, body=body).status == 200
    answer = pipeline.stack.call("POST", path, key=key)
    assert (answer.status, answer.error["code"]) == (409, "payload_expired")


def test_an_inline_payload_leaves_the_record_when_it_settles(pipeline, receiver):
    key = pipeline.stack.key("dev_small")
    choose_zero(pipeline, key)
    hook = pipeline.webhook(key, receiver.url("/small"))
    pipeline.publish("dev_small", "tool.executed", {"n": 1})
    pipeline.pump()
    [record] = pipeline.records(hook["id"])
    assert record["status"] == "succeeded" and "payload" not in record


def test_a_developer_who_keeps_payloads_keeps_them(pipeline, receiver):
    key = pipeline.stack.key("dev_keeps")
    hooks = [pipeline.webhook(key, receiver.url(f"/keeps/{n}")) for n in range(2)]
    pipeline.publish("dev_keeps", "tool.executed", BIG)
    pipeline.pump()
    assert all(pipeline.records(hook["id"])[0]["status"] == "succeeded" for hook in hooks)
    [payload] = stored(pipeline, "dev_keeps")
    assert payload["refs"] == 2  # counted at no cost, never released


def test_a_listen_delivery_counts_until_it_is_answered(pipeline, receiver):
    key = pipeline.stack.key("dev_listens")
    choose_zero(pipeline, key)
    hook = pipeline.webhook(key, receiver.url("/listens"))
    opened = pipeline.stack.call("POST", "/v1/events/listen", key=key, body={})
    assert opened.status == 201, opened.json
    session = opened.json["sessionId"]
    pipeline.publish("dev_listens", "tool.executed", BIG)
    pipeline.pump()
    assert pipeline.records(hook["id"])[0]["status"] == "succeeded"
    [payload] = stored(pipeline, "dev_listens")  # the listen delivery still waits for it
    assert payload["refs"] == 1

    [handed] = pipeline.stack.call("GET", f"/v1/events/listen/{session}/next?wait=0", key=key).json["deliveries"]
    path = f"/v1/events/listen/{session}/deliveries/{handed['deliveryId']}/result"
    answered = pipeline.stack.call("POST", path, key=key, body={"status": 200, "latencyMs": 7, "body": "ok"})
    assert answered.status in (200, 204), answered.json
    assert stored(pipeline, "dev_listens") == []
