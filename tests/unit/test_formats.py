"""Formats that upgrade: what a deployed stack wrote before (messages waiting days in delay hops
and dead-letter queues, records living LogRetentionDays) is still read, and written anew in the
current version."""

import json

import pytest

from events_core.records.message import MESSAGE_VERSION, DeliveryMessage, MalformedMessage, Trigger
from events_core.records.model import RECORD_VERSION, DeliveryRecord, DeliveryStatus
from events_core.records.payloads import INLINE_PAYLOAD_BYTES, stored_by_reference

PAYLOAD = '{"event":"tool.executed","timestamp":"2026-04-12T08:00:00.000Z","data":{}}'
# A version 1 message exactly as the previous release wrote it (dataclasses.asdict, no version).
V1_MESSAGE = json.dumps(
    {
        "delivery_id": "msg_6b0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d",
        "webhook_id": "6b0b00000000000000000000",
        "developer_id": "dev",
        "event_id": "e-1",
        "event": "tool.executed",
        "timestamp": "2026-04-12T08:00:00.000Z",
        "payload": PAYLOAD,
        "attempt": 3,
        "trigger": "retry",
        "queued_at_ms": 1_700_000_000_000,
        "not_before_ms": 0,
    }
)
# A version 1 record item as the previous release stored it.
V1_RECORD = {
    "webhookKey": "dev#6b0b00000000000000000000",
    "deliveryId": "msg_6b0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d",
    "developerId": "dev",
    "webhookId": "6b0b00000000000000000000",
    "eventId": "e-1",
    "event": "tool.executed",
    "status": "dead",
    "createdAt": "2026-04-12T08:00:00.000Z",
    "attempt": 8,
    "attempts": [],
    "expiresAt": 1_800_000_000,
    "payload": PAYLOAD,
    "failedKey": "dev#6b0b00000000000000000000",
}


def test_a_version_1_message_is_read_with_its_payload_inline():
    message = DeliveryMessage.from_json(V1_MESSAGE)
    assert (message.version, message.payload, message.payload_ref) == (1, PAYLOAD, None)
    assert (message.attempt, message.trigger) == (3, Trigger.RETRY)


def test_the_next_message_after_a_version_1_one_is_written_in_the_current_version():
    following = DeliveryMessage.from_json(V1_MESSAGE).next(4, Trigger.RETRY, queued_at_ms=1)
    assert json.loads(following.to_json())["version"] == MESSAGE_VERSION
    assert DeliveryMessage.from_json(following.to_json()).payload == PAYLOAD


def test_a_version_2_message_names_a_stored_payload_and_round_trips():
    message = DeliveryMessage.from_json(V1_MESSAGE).next(4, Trigger.RETRY, queued_at_ms=1)
    by_reference = DeliveryMessage(**{**message.__dict__, "payload": None, "payload_ref": "e-1"})
    text = by_reference.to_json()
    assert "payload" not in json.loads(text) and json.loads(text)["payload_ref"] == "e-1"
    assert DeliveryMessage.from_json(text) == by_reference


@pytest.mark.parametrize(
    "change",
    [
        {"version": 3},  # written by a newer release: refused with a reason, never guessed at
        {"payload_ref": "e-1"},  # version 1 had no references
        {"version": 2, "payload": None},  # neither
        {"version": 2, "payload_ref": "e-1"},  # both
        {"version": 2, "payload": ""},
    ],
)
def test_messages_that_break_their_version_are_malformed(change):
    fields = {**json.loads(V1_MESSAGE), **change}
    with pytest.raises(MalformedMessage):
        DeliveryMessage.from_json(json.dumps(fields))


def test_a_version_1_record_is_read_and_rewritten_in_the_current_version():
    record = DeliveryRecord.from_item(V1_RECORD)
    assert (record.version, record.payload, record.payload_ref, record.status) == (
        1,
        PAYLOAD,
        None,
        DeliveryStatus.DEAD,
    )
    item = record.to_item()
    assert item["version"] == RECORD_VERSION and item["payload"] == PAYLOAD and "payloadRef" not in item


def test_a_version_2_record_names_its_stored_payload():
    record = DeliveryRecord.from_item({**V1_RECORD, "version": 2, "payload": None, "payloadRef": "e-1"})
    assert (record.payload, record.payload_ref) == (None, "e-1")
    assert record.to_item()["payloadRef"] == "e-1" and "payload" not in record.to_item()


def test_the_inline_line_is_by_bytes():
    assert not stored_by_reference("x" * INLINE_PAYLOAD_BYTES)
    assert stored_by_reference("x" * (INLINE_PAYLOAD_BYTES + 1))
    assert stored_by_reference("é" * (INLINE_PAYLOAD_BYTES // 2 + 1))
