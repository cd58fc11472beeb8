"""Queue operations of the delivery pipeline: batched sends (one group per developer, for SQS fair
queues), delayed sends for back-off, visibility changes kept inside SQS's limits, and the
dead-letter queues where every event or post that cannot be handled rests with its reason."""

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from events_core import aws

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024 - 1024  # a SendMessageBatch's total; a larger message goes alone
MAX_DELAY_SECONDS = 900  # SQS's DelaySeconds ceiling: longer waits hop (see DeliveryMessage.not_before_ms)
MAX_VISIBILITY_SECONDS = 12 * 3600  # counted from the receive; SQS refuses more, it does not clamp
VISIBILITY_MARGIN_SECONDS = 60


class QueueSendFailed(Exception):
    pass


@dataclass(frozen=True)
class Outgoing:
    body: str
    group: str  # MessageGroupId: the developer, so fair queues keep tenants apart
    delay: int = 0
    tag: Any = None  # the caller's handle on it (which record it came from)
    attributes: dict[str, str] = field(default_factory=dict)


def _entry(n: int, message: Outgoing) -> dict[str, Any]:
    entry: dict[str, Any] = {"Id": str(n), "MessageBody": message.body, "MessageGroupId": message.group}
    if message.delay:
        entry["DelaySeconds"] = max(0, min(MAX_DELAY_SECONDS, message.delay))
    if message.attributes:
        entry["MessageAttributes"] = _attributes(message.attributes)
    return entry


MAX_ATTRIBUTE_CHARS = 4096


def _attributes(values: dict[str, str]) -> dict[str, dict[str, str]]:
    return {
        name: {"DataType": "String", "StringValue": value[:MAX_ATTRIBUTE_CHARS] or "-"}
        for name, value in values.items()
    }


def send_all(queue_url: str, messages: Sequence[Outgoing], client: Any = None) -> list[Outgoing]:
    """Send every message in as few SendMessageBatch calls as the limits allow; returns the ones
    SQS did not take (the caller decides what that means for their sources)."""
    sqs = client or aws.client("sqs")
    failed: list[Outgoing] = []
    batch: list[Outgoing] = []
    size = 0
    for message in messages:
        length = len(message.body.encode())
        if batch and (len(batch) == MAX_BATCH_ENTRIES or size + length > MAX_BATCH_BYTES):
            failed += _send(sqs, queue_url, batch)
            batch, size = [], 0
        batch.append(message)
        size += length
    if batch:
        failed += _send(sqs, queue_url, batch)
    return failed


def _send(sqs: Any, queue_url: str, batch: list[Outgoing]) -> list[Outgoing]:
    try:
        answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=[_entry(n, m) for n, m in enumerate(batch)])
    except ClientError:
        return list(batch)
    return [batch[int(item["Id"])] for item in answer.get("Failed") or []]


def send_one(queue_url: str, message: Outgoing) -> None:
    entry = _entry(0, message)
    del entry["Id"]
    aws.client("sqs").send_message(QueueUrl=queue_url, **entry)


def dead_letter(queue_url: str, body: str, reason: str, **attributes: str) -> None:
    """Rest `body` in a dead-letter queue with its reason (and what else identifies it)."""
    values = {"reason": reason, **{name: value for name, value in attributes.items() if value}}
    aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=body, MessageAttributes=_attributes(values))


def hide(queue_url: str, receipt_handle: str, seconds: float, received_at: float, client: Any = None) -> int:
    """Keep a received message invisible for about `seconds` (reported as a batch-item failure, it
    comes back then). SQS counts the 12-hour limit from the receive and refuses anything past it,
    so the value is clamped, and a refusal falls back to smaller values — never to the queue's
    default visibility. Returns the visibility that was set."""
    sqs = client or aws.client("sqs")
    elapsed = max(0.0, time.time() - received_at)
    wanted = int(max(0, min(seconds, MAX_VISIBILITY_SECONDS - elapsed - VISIBILITY_MARGIN_SECONDS)))
    while True:
        try:
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=wanted)
            return wanted
        except ClientError as error:
            if (
                error.response.get("Error", {}).get("Code")
                not in ("InvalidParameterValue", "InvalidParameterValueException")
                or wanted == 0
            ):
                raise
            wanted //= 2


def event_entry(bus: str, source: str, event_type: str, developer_id: str, data: Any) -> dict[str, str]:
    """One PutEvents entry, as a platform service publishes an event for a developer."""
    return {
        "EventBusName": bus,
        "Source": source,
        "DetailType": event_type,
        "Detail": json.dumps({"developerId": developer_id, "data": data}),
    }


def publish_event(bus: str, source: str, event_type: str, developer_id: str, data: dict) -> None:
    answer = aws.client("events").put_events(Entries=[event_entry(bus, source, event_type, developer_id, data)])
    if answer.get("FailedEntryCount"):
        raise QueueSendFailed(f"event not published: {answer['Entries'][0].get('ErrorMessage')}")
