"""The dead-letter queues, for operators: list what rests there and why, move messages back through
the normal path, or purge.

Moving back: on AWS, SQS's own redrive task (StartMessageMoveTask) moves them to their source queue;
the emulator lacks it, so locally they are received, sent and deleted one by one — the same result.
Delivery messages come back as redrives: signed afresh, and deduplicated by delivery id (one that
was delivered or recovered meanwhile is not posted again)."""

import json
import time
from dataclasses import dataclass
from typing import Any

from eventsapi.admin.target import Target

# Which queue holds what (README "Dead letters"): tenants' failed posts in `delivery`; platform
# events the service could not use in `events`; messages the service kept crashing on in the fault
# queues (SQS moved them there after maxReceiveCount receives).
QUEUES = {
    "delivery": ("DeliveryDeadLetterQueueUrl", "DeliveryQueueUrl"),
    "events": ("EventsDeadLetterQueueUrl", "EventsQueueUrl"),
    "delivery-fault": ("DeliveryFaultQueueUrl", "DeliveryQueueUrl"),
    "events-fault": ("EventsFaultQueueUrl", "EventsQueueUrl"),
}
# SQS's move task takes only a queue that is some queue's redrive target.
MOVE_TASK_QUEUES = {"delivery-fault", "events-fault"}


@dataclass(frozen=True)
class Letter:
    message_id: str
    reason: str
    delivery_id: str
    developer_id: str
    webhook_id: str
    age_seconds: float
    body: str

    @classmethod
    def of(cls, message: dict[str, Any]) -> "Letter":
        attributes = {
            name: value.get("StringValue", "") for name, value in message.get("MessageAttributes", {}).items()
        }
        sent = int(message.get("Attributes", {}).get("SentTimestamp", "0")) / 1000
        developer, webhook, delivery = (
            attributes.get("developerId", ""),
            attributes.get("webhookId", ""),
            attributes.get("deliveryId", ""),
        )
        if not developer:
            developer, delivery = _from_body(message["Body"])
        return cls(
            message_id=message["MessageId"],
            reason=attributes.get(
                "reason", attributes.get("ERROR_MESSAGE", "(redriven by SQS after repeated failures)")
            ),
            delivery_id=delivery,
            developer_id=developer,
            webhook_id=webhook,
            age_seconds=max(0.0, time.time() - sent) if sent else 0.0,
            body=message["Body"],
        )


def _from_body(body: str) -> tuple[str, str]:
    """(developer, delivery id) read from the message itself, for letters SQS moved without attributes."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return "", ""
    if not isinstance(parsed, dict):
        return "", ""
    detail = parsed["detail"] if isinstance(parsed.get("detail"), dict) else {}
    return str(parsed.get("developer_id") or detail.get("developerId") or ""), str(parsed.get("delivery_id") or "")


def peek(target: Target, queue: str, limit: int = 100) -> list[Letter]:
    """Up to `limit` letters, without taking them: each is received with a short visibility and left."""
    url = target.outputs[QUEUES[queue][0]]
    sqs = target.client("sqs")
    letters: dict[str, Letter] = {}
    while len(letters) < limit:
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=5,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        sqs.change_message_visibility_batch(  # put them back at once: this is only a look
            QueueUrl=url,
            Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for n, m in enumerate(messages)
            ],
        )
        fresh = [m for m in messages if m["MessageId"] not in letters]
        if not fresh:
            break
        for message in fresh:
            letters[message["MessageId"]] = Letter.of(message)
    return list(letters.values())[:limit]


def redrive(target: Target, queue: str) -> int:
    """Move every letter back to its source queue; how many (-1: started an SQS move task)."""
    dead_url, source_url = (target.outputs[name] for name in QUEUES[queue])
    sqs = target.client("sqs")
    if target.deployed and queue in MOVE_TASK_QUEUES:
        arn = sqs.get_queue_attributes(QueueUrl=dead_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        source = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.start_message_move_task(SourceArn=arn, DestinationArn=source)
        return -1
    moved = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=dead_url, MaxNumberOfMessages=10, VisibilityTimeout=60, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return moved
        for message in messages:
            sqs.send_message(
                QueueUrl=source_url,
                MessageBody=message["Body"],
                **({"MessageAttributes": message["MessageAttributes"]} if message.get("MessageAttributes") else {}),
            )
            sqs.delete_message(QueueUrl=dead_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1


def purge(target: Target, queue: str) -> None:
    target.client("sqs").purge_queue(QueueUrl=target.outputs[QUEUES[queue][0]])
