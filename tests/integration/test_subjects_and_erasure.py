"""Subjects on events and their erasure, on the template in-process: an event naming subjects is
indexed and stored by reference (one without costs nothing more), a bad `detail.subjects` rests in
the events dead-letter queue with its reason, unknown `detail` keys are never delivered, and
`eventsapi erase` removes a subject's payloads and answers from every store, queues included, for
one developer only, proves it with a receipt, and finds nothing the second time."""

import json

import boto3
import pytest

from events_core.config import Settings
from events_core.records.message import DeliveryMessage
from events_core.records.subjects import index_partition, subject_hash, who_partition
from eventsapi.admin.erase import Erasure
from eventsapi.admin.target import Target
from eventsapi.local.wiring import REGION

ANSWER = "ANSWER-of-the-receiver"


def data(marker: str) -> dict:
    return {"toolName": "t", "input": {"note": marker}, "result": {}, "elapsed_ms": 1}


def index_items(pipeline) -> list[dict]:
    return [
        item
        for item in pipeline.stack.items("DeliveriesTable")
        if str(item["webhookKey"]).endswith("#~subjects") or str(item["webhookKey"]).startswith("~subject#")
    ]


def everything(pipeline) -> str:
    """Every table's items and every queue's messages, as one text."""
    text = [
        json.dumps(item, default=str)
        for table in ("DeliveriesTable", "PayloadsTable", "ListenTable")
        for item in pipeline.stack.items(table)
    ]
    for queue in (
        "EventsQueue",
        "DeliveryQueue",
        "EventsDeadLetterQueue",
        "DeliveryDeadLetterQueue",
        "EventsFaultQueue",
        "DeliveryFaultQueue",
    ):
        url = pipeline.physical(queue)
        received: list[dict] = []
        while batch := pipeline.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get(
            "Messages", []
        ):
            received += batch
        text += [m["Body"] for m in received]
        for m in received:
            pipeline.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    return "\n".join(text)


def erasure(pipeline) -> Erasure:
    return Erasure(Target.of_template(pipeline.stack.template, boto3.Session(region_name=REGION)), Settings.from_env())


def test_an_event_without_subjects_costs_nothing_more(pipeline, receiver):
    key = pipeline.stack.key()
    pipeline.webhook(key, receiver.url("/plain"))
    pipeline.publish("user_123", "tool.executed", data("plain"))
    pipeline.pump()
    assert receiver.at("/plain")
    assert index_items(pipeline) == []
    assert pipeline.stack.items("PayloadsTable") == [], "a small event stays inline"
    assert "payload" in pipeline.records()[0]


def test_subjects_are_indexed_the_payload_stored_once_and_unknown_keys_never_delivered(pipeline, receiver):
    key = pipeline.stack.key()
    pipeline.webhook(key, receiver.url("/tagged"))
    event_id = pipeline.publish(
        "user_123", "tool.executed", data("tagged"), subjects=["user:42", "user:42", "org:7"], extra="NOT-FOR-RECEIVERS"
    )
    pipeline.pump()
    [post] = receiver.at("/tagged")
    assert set(json.loads(post.body)) == {"event", "timestamp", "data"}
    assert b"NOT-FOR-RECEIVERS" not in post.body and b"user:42" not in post.body
    entries = {(i["webhookKey"], i["deliveryId"]) for i in index_items(pipeline)}
    for subject in ("user:42", "org:7"):
        assert (index_partition("user_123"), f"{subject_hash(subject)}#{event_id}") in entries
        assert (who_partition(subject_hash(subject)), "user_123") in entries
    assert len(entries) == 4, "each subject once"
    assert "user:42" not in json.dumps(index_items(pipeline), default=str), "subjects are kept as hashes"
    [stored] = pipeline.stack.items("PayloadsTable")
    assert stored["eventId"] == event_id
    [record] = pipeline.records()
    assert record["payloadRef"] == event_id and "payload" not in record


@pytest.mark.parametrize(
    "subjects",
    ["user:42", [42], [""], ["x" * 201], [f"user:{n}" for n in range(21)], {"user": 42}],
    ids=["not-a-list", "not-a-string", "empty", "too-long", "too-many", "an-object"],
)
def test_bad_subjects_rest_in_the_events_dead_letter_queue_with_the_reason(pipeline, receiver, subjects):
    key = pipeline.stack.key()
    pipeline.webhook(key, receiver.url("/bad"))
    pipeline.publish("user_123", "tool.executed", data("bad"), subjects=subjects)
    pipeline.pump()
    assert receiver.at("/bad") == []
    [letter] = pipeline.dead_letters("EventsDeadLetterQueue")
    assert "detail.subjects" in letter["reason"]
    assert index_items(pipeline) == []


def _dead_letter(pipeline, queue: str, body: str) -> None:
    pipeline.sqs.send_message(QueueUrl=pipeline.physical(queue), MessageBody=body)


def test_erase_reaches_every_store_for_one_developer_and_proves_it(pipeline, receiver):
    mine, theirs = pipeline.stack.key("user_123"), pipeline.stack.key("user_other")
    receiver.behave("/mine", body=ANSWER.encode())
    receiver.behave("/theirs", body=ANSWER.encode())
    hook = pipeline.webhook(mine, receiver.url("/mine"))
    pipeline.webhook(theirs, receiver.url("/theirs"))
    erased = [pipeline.publish("user_123", "tool.executed", data(f"ERASE-{n}"), subjects=["user:42"]) for n in range(2)]
    pipeline.publish("user_123", "tool.executed", data("KEEP-other-subject"), subjects=["user:7"])
    pipeline.publish("user_other", "tool.executed", data("KEEP-other-developer"), subjects=["user:42"])
    pipeline.pump()
    assert len(receiver.at("/mine")) == 3 and len(receiver.at("/theirs")) == 1
    # What waits in the dead-letter and fault queues: a delivery letter of an erased event carrying
    # its payload inline (an older message), an event the fan-out never indexed, and an unrelated one.
    inline = DeliveryMessage(
        delivery_id="msg_" + "0" * 32,
        webhook_id=hook["id"],
        developer_id="user_123",
        event_id=erased[0],
        event="tool.executed",
        timestamp="2026-12-07T00:00:00.000Z",
        payload='{"data":{"note":"ERASE-inline"}}',
    )
    _dead_letter(pipeline, "DeliveryDeadLetterQueue", inline.to_json())
    never_indexed = {
        "id": "e-x",
        "detail": {"developerId": "user_123", "subjects": ["user:42"], "data": {"n": "ERASE-q"}},
    }
    _dead_letter(pipeline, "EventsFaultQueue", json.dumps(never_indexed))
    _dead_letter(
        pipeline,
        "EventsFaultQueue",
        json.dumps(
            {**never_indexed, "detail": {"developerId": "user_other", "subjects": ["user:42"], "data": {"n": "KEEP-q"}}}
        ),
    )
    before = everything(pipeline)
    assert before.count("ERASE-") == 2 + 2  # the payloads stored once, the two letters
    assert before.count(ANSWER) == 4  # every delivery's attempt keeps the receiver's answer

    receipt = erasure(pipeline).erase("user:42", ["user_123"])
    assert receipt["removed"]["PayloadsTable"] == {"payloads": 2}
    assert receipt["removed"]["DeliveriesTable"]["records marked erased"] == 2
    assert receipt["removed"]["DeliveriesTable"]["answers"] == 2
    assert receipt["removed"]["DeliveryDeadLetterQueue"] == {"messages removed": 1}
    assert receipt["removed"]["EventsFaultQueue"] == {"messages removed": 1}
    assert receipt["erasedEvents"] == 2 and receipt["inFlight"] == 0
    held = everything(pipeline)
    assert "ERASE-" not in held and held.count(ANSWER) == 2
    assert "KEEP-other-subject" in held and "KEEP-other-developer" in held and "KEEP-q" in held
    for record in pipeline.records(hook["id"]):
        shown = pipeline.stack.call(
            "GET", f"/v1/events/webhooks/{hook['id']}/deliveries/{record['deliveryId']}", key=mine
        )
        assert shown.status == 200
        if record["eventId"] in erased:
            assert shown.json["erased"] is True and shown.json["payload"] is None
            assert [a["responseExcerpt"] for a in shown.json["attempts"]] == [""]
            redelivered = pipeline.stack.call(
                "POST", f"/v1/events/webhooks/{hook['id']}/deliveries/{record['deliveryId']}/redeliver", key=mine
            )
            assert redelivered.status == 409
        else:
            assert "erased" not in shown.json and shown.json["attempts"][0]["responseExcerpt"] == ANSWER

    assert erasure(pipeline).verify(receipt) == []
    again = erasure(pipeline).erase("user:42", ["user_123"])
    assert again["removed"] == {} and again["digest"] == receipt["digest"]

    # A payload written back (a restore from a backup, say) is what verify is for.
    pipeline.stack.table("PayloadsTable").put_item(
        Item={"developerId": "user_123", "eventId": erased[0], "payload": "restored", "expiresAt": 1}
    )
    assert any("PayloadsTable" in problem for problem in erasure(pipeline).verify(receipt))
    assert erasure(pipeline).verify({**receipt, "digest": "sha256:0"})


def test_erase_across_developers_finds_them_through_the_index(pipeline, receiver):
    for developer in ("user_a", "user_b"):
        pipeline.webhook(pipeline.stack.key(developer), receiver.url(f"/{developer}"))
        pipeline.publish(developer, "tool.executed", data(f"ERASE-{developer}"), subjects=["user:42"])
    pipeline.pump()
    receipt = erasure(pipeline).erase("user:42", None)
    assert receipt["developers"] == ["user_a", "user_b"] and receipt["allDevelopers"] is True
    assert receipt["removed"]["PayloadsTable"] == {"payloads": 2}
    assert "ERASE-" not in everything(pipeline)
    assert erasure(pipeline).verify(receipt) == []


def test_a_delivery_being_attempted_is_left_and_counted(pipeline, receiver):
    pipeline.webhook(pipeline.stack.key(), receiver.url("/busy"))
    pipeline.publish("user_123", "tool.executed", data("busy"), subjects=["user:42"])
    pipeline.pump()
    [record] = pipeline.records()
    table = pipeline.stack.table("DeliveriesTable")
    table.update_item(
        Key={"webhookKey": record["webhookKey"], "deliveryId": record["deliveryId"]},
        UpdateExpression="SET leaseUntil = :far",
        ExpressionAttributeValues={":far": 2**42},
    )
    receipt = erasure(pipeline).erase("user:42", ["user_123"])
    assert receipt["inFlight"] == 1
    assert "records marked erased" not in receipt["removed"].get("DeliveriesTable", {})
    assert receipt["erasedEvents"] == 0, "its entry is left for the next run"
    table.update_item(
        Key={"webhookKey": record["webhookKey"], "deliveryId": record["deliveryId"]},
        UpdateExpression="REMOVE leaseUntil",
    )
    settled = erasure(pipeline).erase("user:42", ["user_123"])
    assert settled["inFlight"] == 0 and settled["removed"]["DeliveriesTable"]["records marked erased"] == 1
    assert erasure(pipeline).verify(settled) == []


def test_a_payload_kept_longer_keeps_its_subject_index_entries_as_long(pipeline, receiver):
    from events_core.records.payloads import PayloadStore

    pipeline.webhook(pipeline.stack.key(), receiver.url("/late"))
    event_id = pipeline.publish("user_123", "tool.executed", data("late"), subjects=["user:42"])
    pipeline.pump()
    [stored] = pipeline.stack.items("PayloadsTable")
    assert stored["subjectHashes"] == [subject_hash("user:42")]
    far = int(stored["expiresAt"]) + 90 * 86400
    assert PayloadStore().extend("user_123", event_id, far)  # a late redelivery's record lives that long
    kept = {str(item["webhookKey"]): int(item["expiresAt"]) for item in index_items(pipeline)}
    [payload] = pipeline.stack.items("PayloadsTable")
    assert kept[index_partition("user_123")] == int(payload["expiresAt"])
    assert kept[who_partition(subject_hash("user:42"))] > int(payload["expiresAt"])
