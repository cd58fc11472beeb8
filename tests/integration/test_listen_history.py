"""A listen session's history and replay on the template's own routes: newest first from the
records the fan-out keeps, another developer's session 404, a replay waits in the session again
naming the same stored payload (never a copy), charged to the post budget, 409 once the payload
has expired."""

from events_core.clock import now_ms

TOOL_DATA = {"toolName": "erp", "input": {}, "result": {}, "elapsed_ms": 3}


def open_session(pipeline, key):
    answer = pipeline.stack.call("POST", "/v1/events/listen", key=key, body={})
    assert answer.status == 201, answer.json
    return answer.json["sessionId"]


def history(pipeline, key, session_id):
    return pipeline.stack.call("GET", f"/v1/events/listen/{session_id}/deliveries", key=key)


def replay(pipeline, key, session_id, delivery_id):
    return pipeline.stack.call("POST", f"/v1/events/listen/{session_id}/deliveries/{delivery_id}/replay", key=key)


def poll(pipeline, key, session_id):
    return pipeline.stack.call("GET", f"/v1/events/listen/{session_id}/next?wait=0", key=key)


def two_deliveries(pipeline, key) -> tuple[str, list[dict]]:
    session = open_session(pipeline, key)
    for n in range(2):
        pipeline.publish("user_123", "tool.executed", {**TOOL_DATA, "elapsed_ms": n})
        pipeline.pump()
    answer = history(pipeline, key, session)
    assert answer.status == 200, answer.json
    return session, answer.json["deliveries"]


def test_history_is_newest_first_and_another_developers_session_is_not_found(pipeline):
    mine, theirs = pipeline.stack.key(), pipeline.stack.key("user_456")
    session, kept = two_deliveries(pipeline, mine)
    assert [d["sessionId"] for d in kept] == [session, session]
    assert kept[0]["deliveryId"] > kept[1]["deliveryId"] and {d["status"] for d in kept} == {"pending"}

    assert history(pipeline, theirs, session).status == 404
    assert replay(pipeline, theirs, session, kept[0]["deliveryId"]).status == 404
    assert history(pipeline, mine, "ls_9zz").status == 404
    assert history(pipeline, mine, "ls_0" + "0" * 20).status == 404  # well formed, never opened


def test_a_replay_waits_again_naming_the_same_payload(pipeline):
    key = pipeline.stack.key()
    session, kept = two_deliveries(pipeline, key)
    handed = poll(pipeline, key, session).json["deliveries"]
    assert len(handed) == 2
    payloads_before = pipeline.stack.items("PayloadsTable")

    answer = replay(pipeline, key, session, kept[1]["deliveryId"])
    assert answer.status == 202, answer.json
    assert answer.json["replayOf"] == kept[1]["deliveryId"] and answer.json["deliveryId"] not in {
        d["deliveryId"] for d in kept
    }
    [again] = poll(pipeline, key, session).json["deliveries"]
    assert again["deliveryId"] == answer.json["deliveryId"]
    assert again["body"] == next(d["body"] for d in handed if d["deliveryId"] == kept[1]["deliveryId"])
    after = pipeline.stack.items("PayloadsTable")

    def without_count(items):
        return [{name: value for name, value in item.items() if name != "refs"} for item in items]

    assert without_count(after) == without_count(payloads_before)  # referenced, never copied
    assert sum(item["refs"] for item in after) == sum(item["refs"] for item in payloads_before) + 1  # counted
    waiting = [i for i in pipeline.stack.items("ListenTable") if str(i["sk"]).startswith("msg_")]
    assert all("payload" not in item for item in waiting)
    assert history(pipeline, key, session).json["deliveries"][0]["deliveryId"] == again["deliveryId"]
    assert replay(pipeline, key, session, "msg_" + "0" * 32).status == 404


def test_a_replay_of_an_expired_payload_is_409_and_changes_nothing(pipeline):
    key = pipeline.stack.key()
    session, kept = two_deliveries(pipeline, key)
    table = pipeline.stack.table("PayloadsTable")
    for item in pipeline.stack.items("PayloadsTable"):  # past its day, not yet removed by TTL
        table.update_item(
            Key={"developerId": item["developerId"], "eventId": item["eventId"]},
            UpdateExpression="SET expiresAt = :past",
            ExpressionAttributeValues={":past": now_ms() // 1000 - 1},
        )
    before = len(history(pipeline, key, session).json["deliveries"])
    refused = replay(pipeline, key, session, kept[0]["deliveryId"])
    assert refused.status == 409 and refused.error["code"] == "payload_expired"
    assert "no longer stored" in refused.error["message"]
    assert len(history(pipeline, key, session).json["deliveries"]) == before


def test_replays_are_charged_to_the_post_budget(make_pipeline):
    pipeline = make_pipeline(PostBudgetBurst="1", PostBudgetPerMinute="1")
    key = pipeline.stack.key()
    session = open_session(pipeline, key)
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    [kept] = history(pipeline, key, session).json["deliveries"]
    assert replay(pipeline, key, session, kept["deliveryId"]).status == 202
    spent = replay(pipeline, key, session, kept["deliveryId"])
    assert spent.status == 429 and spent.error["code"] == "budget_exceeded"
    assert spent.error["message"] and spent.headers["Retry-After"]


def test_a_record_past_its_day_is_neither_shown_nor_replayed(pipeline):
    """DynamoDB's TTL removes items late: a record past its expiresAt is gone to the API already."""
    key = pipeline.stack.key()
    session, kept = two_deliveries(pipeline, key)
    table = pipeline.stack.table("DeliveriesTable")
    [old] = [r for r in pipeline.records(session) if r["deliveryId"] == kept[1]["deliveryId"]]
    table.update_item(
        Key={"webhookKey": old["webhookKey"], "deliveryId": old["deliveryId"]},
        UpdateExpression="SET expiresAt = :past",
        ExpressionAttributeValues={":past": now_ms() // 1000 - 1},
    )
    shown = history(pipeline, key, session).json["deliveries"]
    assert [d["deliveryId"] for d in shown] == [kept[0]["deliveryId"]]
    refused = replay(pipeline, key, session, old["deliveryId"])
    assert refused.status == 409 and refused.error["code"] == "payload_expired"
