"""Queue operations of the delivery pipeline: batched sends, back-off via visibility, and the
dead-letter queues where every event or post that cannot be handled rests with its reason."""

import json
from typing import Any

from events_core import aws

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 250_000  # SQS caps a whole SendMessageBatch at 256 KiB


class QueueSendFailed(Exception):
    pass


def send_batched(queue_url: str, bodies: list[str], client: Any = None) -> None:
    """Send every body, in as few SendMessageBatch calls as the count and size limits allow."""
    sqs = client or aws.client("sqs")
    batch: list[str] = []
    size = 0
    for body in bodies:
        length = len(body.encode())
        if batch and (len(batch) == MAX_BATCH_ENTRIES or size + length > MAX_BATCH_BYTES):
            _send(sqs, queue_url, batch)
            batch, size = [], 0
        batch.append(body)
        size += length
    if batch:
        _send(sqs, queue_url, batch)


def _send(sqs: Any, queue_url: str, bodies: list[str]) -> None:
    answer = sqs.send_message_batch(
        QueueUrl=queue_url, Entries=[{"Id": str(n), "MessageBody": body} for n, body in enumerate(bodies)]
    )
    failed = answer.get("Failed") or []
    if failed:
        raise QueueSendFailed(f"{len(failed)} of {len(bodies)} messages not sent: {failed[0].get('Message')}")


def dead_letter(queue_url: str, body: str, reason: str, attempts: int | None = None, client: Any = None) -> None:
    attributes = {"reason": {"DataType": "String", "StringValue": reason[:1000]}}
    if attempts is not None:
        attributes["attempts"] = {"DataType": "Number", "StringValue": str(attempts)}
    (client or aws.client("sqs")).send_message(QueueUrl=queue_url, MessageBody=body, MessageAttributes=attributes)


def retry_after(queue_url: str, receipt_handle: str, seconds: int, client: Any = None) -> None:
    """Hide the message for `seconds`; reported as a batch-item failure, it comes back then."""
    (client or aws.client("sqs")).change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
    )


def publish_event(bus: str, source: str, event_type: str, developer_id: str, data: dict, client: Any = None) -> None:
    answer = (client or aws.client("events")).put_events(
        Entries=[
            {
                "EventBusName": bus,
                "Source": source,
                "DetailType": event_type,
                "Detail": json.dumps({"developerId": developer_id, "data": data}),
            }
        ]
    )
    if answer.get("FailedEntryCount"):
        raise QueueSendFailed(f"event not published: {answer['Entries'][0].get('ErrorMessage')}")
