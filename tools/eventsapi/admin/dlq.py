"""The dead-letter queues, for operators: list what rests there and why, move messages back through
the normal path, or purge.

Each delivery letter is shown with its delivery's current status: a developer may have recovered
it through the API since it came here (then it says `succeeded`).

Moving back: on AWS, SQS's own redrive task (StartMessageMoveTask) moves a fault queue's messages
to their source queue (SQS takes only a queue that is some queue's redrive target). The other
queues, and every queue locally (the emulator lacks the task), are received, sent and deleted one
by one, and each delivery letter is looked at first: one already delivered (recovered or
redelivered meanwhile) is removed and not posted; one whose webhook is disabled stays (enable it,
then redrive); one whose webhook or record is gone is dropped, with the reason. Either way,
delivery messages come back as redrives: signed afresh, and deduplicated by delivery id."""

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from events_core.records.model import DeliveryStatus
from events_core.records.store import DeliveryStore
from events_core.webhooks.repository import WebhookRepository
from eventsapi.admin.target import Target

# Which queue holds what (docs/operators.md "Dead letters"): tenants' failed posts in `delivery`; platform
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
            attributes.get("webhookId") or attributes.get("skippedWebhooks", ""),  # an event names those it skipped
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


def _webhook_from_body(body: str) -> str:
    try:
        parsed = json.loads(body)
    except ValueError:
        return ""
    return str(parsed.get("webhook_id") or "") if isinstance(parsed, dict) else ""


def delivery_status(target: Target, letter: Letter) -> str:
    """The delivery's status now, as the API answers it (`-` for an events letter, `gone` when the
    record expired or its webhook was deleted)."""
    if not (letter.delivery_id and letter.webhook_id and letter.developer_id):
        return "-"
    record = DeliveryStore(target.table("DeliveriesTableName")).get(
        letter.developer_id, letter.webhook_id, letter.delivery_id
    )
    return record.status.value if record else "gone"


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


@dataclass
class Redrive:
    """What a redrive did. `move_task`: on AWS, SQS moves them itself (nothing is counted)."""

    posted: int = 0  # sent back to be posted
    already_delivered: int = 0  # removed: the delivery succeeded meanwhile
    kept: Counter[str] = field(default_factory=Counter)  # reason → count, left in the queue
    dropped: Counter[str] = field(default_factory=Counter)  # reason → count, removed unposted
    move_task: bool = False

    def summary(self, queue: str) -> str:
        if self.move_task:
            return (
                "SQS is moving them back (a message move task); a delivery that succeeded meanwhile is not posted again"
            )
        parts = [f"{self.posted} sent back to be posted"]
        if queue == "delivery":
            parts.append(f"{self.already_delivered} already delivered (removed)")
        parts += [f"{count} kept: {why}" for why, count in self.kept.items()]
        parts += [f"{count} dropped: {why}" for why, count in self.dropped.items()]
        return "; ".join(parts)


def _verdict(target: Target, letter: Letter) -> tuple[str, str]:
    """('post' | 'delivered' | 'keep' | 'drop', why) for one delivery letter."""
    status = delivery_status(target, letter)
    if status == "-":
        return "post", ""
    if status == DeliveryStatus.SUCCEEDED.value:
        return "delivered", ""
    if status == "gone":
        return "drop", "delivery record expired or webhook deleted"
    webhook = WebhookRepository(target.table("WebhooksTableName")).get(letter.developer_id, letter.webhook_id)
    if webhook is None:
        return "drop", "webhook deleted"
    if not webhook.enabled:
        return "keep", "webhook disabled (enable it, then redrive)"
    return "post", ""


def redrive(target: Target, queue: str) -> Redrive:
    """Move letters back to their source queue (see the module's docstring for what is skipped)."""
    dead_url, source_url = (target.outputs[name] for name in QUEUES[queue])
    sqs = target.client("sqs")
    done = Redrive()
    if target.deployed and queue in MOVE_TASK_QUEUES:
        arn = sqs.get_queue_attributes(QueueUrl=dead_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        source = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.start_message_move_task(SourceArn=arn, DestinationArn=source)
        done.move_task = True
        return done
    seen: set[str] = set()
    kept: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=dead_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=60,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        fresh = [message for message in messages if message["MessageId"] not in seen]
        if not fresh:
            _show_again(sqs, dead_url, kept + [m for m in messages if m["MessageId"] in seen])
            return done
        for message in fresh:
            seen.add(message["MessageId"])
            action, why = _verdict(target, Letter.of(message)) if queue.startswith("delivery") else ("post", "")
            if action == "keep":
                done.kept[why] += 1
                kept.append(message)  # visible again once this redrive is over
                continue
            if action == "post":
                sqs.send_message(
                    QueueUrl=source_url,
                    MessageBody=message["Body"],
                    **({"MessageAttributes": message["MessageAttributes"]} if message.get("MessageAttributes") else {}),
                )
                done.posted += 1
            elif action == "delivered":
                done.already_delivered += 1
            else:
                done.dropped[why] += 1
            sqs.delete_message(QueueUrl=dead_url, ReceiptHandle=message["ReceiptHandle"])


def _show_again(sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
    for start in range(0, len(messages), 10):
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for n, m in enumerate(messages[start : start + 10])
            ],
        )


PURGE_INTERVAL_SECONDS = 60  # SQS allows one PurgeQueue a queue every 60 s


class PurgeTooSoon(Exception):
    """SQS refused: a purge of this queue ran less than 60 s ago."""


def count(target: Target, queue: str) -> int:
    """About how many messages rest in the queue (SQS's approximate counts, visible and in flight)."""
    attributes = target.client("sqs").get_queue_attributes(
        QueueUrl=target.outputs[QUEUES[queue][0]],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def purge(target: Target, queue: str) -> int:
    """Delete every message; how many there were. An empty queue is not purged (so an empty queue
    never meets SQS's one-purge-a-minute rule)."""
    held = count(target, queue)
    if held == 0:
        return 0
    try:
        target.client("sqs").purge_queue(QueueUrl=target.outputs[QUEUES[queue][0]])
    except ClientError as error:
        if "PurgeQueueInProgress" in error.response.get("Error", {}).get("Code", ""):
            raise PurgeTooSoon(queue) from None
        raise
    return held
