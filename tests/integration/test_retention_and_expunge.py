"""Retention a developer chooses and expunge: reads never answer what is past its retention, an
expunged delivery keeps its record with payload null, and redeliver/recover say why they cannot."""

import time

WEBHOOKS = "/v1/events/webhooks"
BIG = {"toolName": "erp", "input": {"prompt": "p" * 6000}, "result": {}, "elapsed_ms": 1}


def delivered(pipeline, receiver, developer, data=None, path="/ok"):
    key = pipeline.stack.key(developer)
    hook = pipeline.webhook(key, receiver.url(f"/{developer}{path}"))
    pipeline.publish(developer, "tool.executed", data or {"n": 1})
    pipeline.pump()
    [record] = pipeline.records(hook["id"])
    return key, hook, record


def age(pipeline, record, days):
    """Make a record look last written `days` ago (every write sets expiresAt LogRetentionDays, 30, ahead)."""
    pipeline.stack.table("DeliveriesTable").update_item(
        Key={"webhookKey": record["webhookKey"], "deliveryId": record["deliveryId"]},
        UpdateExpression="SET expiresAt = :at",
        ExpressionAttributeValues={":at": int(time.time() + (30 - days) * 86400)},
    )


def detail(pipeline, key, hook, record):
    return pipeline.stack.call("GET", f"{WEBHOOKS}/{hook['id']}/deliveries/{record['deliveryId']}", key=key)


def test_payload_days_zero_a_delivered_payload_is_gone_and_redeliver_and_recover_say_why(pipeline, receiver):
    key, hook, record = delivered(pipeline, receiver, "dev_zero")
    other_key, other_hook, other_record = delivered(pipeline, receiver, "dev_default")
    assert detail(pipeline, key, hook, record).json["payload"] is not None
    patched = pipeline.stack.call("PATCH", "/v1/events/settings", key=key, body={"retention": {"payloadDays": 0}})
    assert patched.status == 200

    assert detail(pipeline, key, hook, record).json["payload"] is None
    answer = pipeline.stack.call(
        "POST", f"{WEBHOOKS}/{hook['id']}/deliveries/{record['deliveryId']}/redeliver", key=key
    )
    assert (answer.status, answer.error["code"]) == (409, "payload_retention")
    assert "payloadDays" in answer.error["message"]
    answer = pipeline.stack.call(
        "POST", f"{WEBHOOKS}/{hook['id']}/recover", key=key, body={"since": "2020-01-01T00:00:00Z"}
    )
    assert (answer.status, answer.error["code"]) == (409, "payload_retention")
    assert detail(pipeline, other_key, other_hook, other_record).json["payload"] is not None  # others untouched


def test_records_and_answers_past_their_retention_are_not_answered(pipeline, receiver):
    key, hook, record = delivered(pipeline, receiver, "dev_short")
    pipeline.stack.call(
        "PATCH", "/v1/events/settings", key=key, body={"retention": {"responseDays": 1, "recordDays": 2}}
    )
    age(pipeline, record, 1.05)
    shown = detail(pipeline, key, hook, record).json
    assert shown["payload"] is not None and [a["responseExcerpt"] for a in shown["attempts"]] == [""]
    age(pipeline, record, 3)
    assert detail(pipeline, key, hook, record).status == 404
    listed = pipeline.stack.call("GET", f"{WEBHOOKS}/{hook['id']}/deliveries", key=key).json
    assert listed["deliveries"] == []


def test_an_expunged_delivery_keeps_its_record_with_payload_null_and_others_keep_theirs(pipeline, receiver):
    key, hook, record = delivered(pipeline, receiver, "dev_x", BIG)
    other_key, other_hook, other_record = delivered(pipeline, receiver, "dev_y", BIG)
    assert record["payloadRef"] and len(pipeline.stack.items("PayloadsTable")) == 2
    path = f"{WEBHOOKS}/{hook['id']}/deliveries/{record['deliveryId']}/payload"
    assert pipeline.stack.call("DELETE", path, key=other_key).status == 404  # another developer's
    assert pipeline.stack.call("DELETE", path, key=key).status == 204
    assert pipeline.stack.call("DELETE", path, key=key).status == 204  # again: nothing left, same answer

    shown = detail(pipeline, key, hook, record).json
    assert shown["payload"] is None and shown["expunged"] is True and shown["status"] == "succeeded"
    assert all(attempt["responseExcerpt"] == "" for attempt in shown["attempts"])
    [stored] = pipeline.stack.items("PayloadsTable")
    assert stored["developerId"] == "dev_y"
    assert detail(pipeline, other_key, other_hook, other_record).json["payload"] is not None
    redeliver = pipeline.stack.call(
        "POST", f"{WEBHOOKS}/{hook['id']}/deliveries/{record['deliveryId']}/redeliver", key=key
    )
    assert (redeliver.status, redeliver.error["code"]) == (409, "payload_expunged")
    listed = pipeline.stack.call("GET", f"{WEBHOOKS}/{hook['id']}/deliveries", key=key).json["deliveries"]
    assert listed[0]["expunged"] is True


def test_a_delivery_on_its_way_cannot_be_expunged(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="3600")
    key = pipeline.stack.key("dev_w")
    hook = pipeline.webhook(key, receiver.behave("/dev_w/down", status=503))
    pipeline.publish("dev_w", "tool.executed", {"n": 1})
    pipeline.source("FanoutFunction").poll_once()
    pipeline.source("DeliverFunction").poll_once()
    [record] = pipeline.records(hook["id"])
    assert record["status"] == "retrying"
    path = f"{WEBHOOKS}/{hook['id']}/deliveries/{record['deliveryId']}/payload"
    answer = pipeline.stack.call("DELETE", path, key=key)
    assert (answer.status, answer.error["code"]) == (409, "delivery_not_settled")
    assert pipeline.records(hook["id"])[0]["payload"]
    missing = f"{WEBHOOKS}/{hook['id']}/deliveries/msg_{'0' * 32}/payload"
    assert pipeline.stack.call("DELETE", missing, key=key).status == 404


def test_the_sweep_applies_a_chosen_retention_to_what_is_kept_and_only_to_who_chose(pipeline, receiver):
    key, hook, small = delivered(pipeline, receiver, "dev_sweep")
    pipeline.publish("dev_sweep", "tool.executed", BIG)
    pipeline.pump()
    _, other_hook, other = delivered(pipeline, receiver, "dev_keeps", BIG)
    old = next(r for r in pipeline.records(hook["id"]) if r["deliveryId"] != small["deliveryId"])
    age(pipeline, small, 5)
    body = {"retention": {"payloadDays": 0, "recordDays": 3}}
    assert pipeline.stack.call("PATCH", "/v1/events/settings", key=key, body=body).status == 200

    done = pipeline.stack.invoke("SweepRetentionFunction", {"source": "aws.events", "detail": {}})
    assert done["developers"] == 1 and done["finished"] is True
    assert done["records_deleted"] == 1 and done["stored_payloads_deleted"] == 1
    [kept] = pipeline.records(hook["id"])  # the aged record is gone
    assert kept["deliveryId"] == old["deliveryId"] and "payload" not in kept and "payloadRef" not in kept
    assert [p["developerId"] for p in pipeline.stack.items("PayloadsTable")] == ["dev_keeps"]
    [theirs] = pipeline.records(other_hook["id"])
    assert theirs == other  # a developer who chose nothing is not even read
    again = pipeline.stack.invoke("SweepRetentionFunction", {"source": "aws.events", "detail": {}})
    assert (again["records_deleted"], again["payloads_removed"], again["stored_payloads_deleted"]) == (0, 0, 0)
    pipeline.stack.call("PATCH", "/v1/events/settings", key=key, body={"retention": None})
    assert pipeline.stack.invoke("SweepRetentionFunction", {"source": "aws.events", "detail": {}})["developers"] == 0


def test_the_default_retention_hides_nothing_a_late_or_old_event_left(pipeline, receiver):
    """Records are aged by when they were written, not by their event's time: an event published
    with a timestamp months old is listed, read and recoverable as before."""
    key = pipeline.stack.key("dev_old")
    hook = pipeline.webhook(key, receiver.url("/dev_old/ok"))
    pipeline.publish("dev_old", "tool.executed", {"n": 1}, timestamp="2026-01-12T08:00:00.000Z")
    pipeline.pump()
    [record] = pipeline.records(hook["id"])
    assert detail(pipeline, key, hook, record).json["payload"] is not None
    listed = pipeline.stack.call("GET", f"{WEBHOOKS}/{hook['id']}/deliveries", key=key).json["deliveries"]
    assert [d["deliveryId"] for d in listed] == [record["deliveryId"]]
    age(pipeline, record, 30.01)  # past its TTL, not yet deleted: gone for reads
    assert detail(pipeline, key, hook, record).status == 404
