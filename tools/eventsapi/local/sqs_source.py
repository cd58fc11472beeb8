"""A local SQS event-source mapping: polls a queue and invokes the function with batches, as Lambda
does (batch size, partial batch responses; visibility and redrive are the queue's own)."""

import hashlib
import logging
import threading
from typing import Any

from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.exceptions import HTTPClientError

from eventsapi.local.invoke import LocalFunction

log = logging.getLogger("eventsapi.sqs")


def _record(message: dict, queue_arn: str, region: str) -> dict:
    attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class SqsEventSource:
    def __init__(
        self,
        sqs: Any,
        *,
        queue_url: str,
        queue_arn: str,
        function: LocalFunction,
        batch_size: int,
        report_failures: bool,
        region: str,
        pollers: int = 2,
    ):
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.function = function
        self.batch_size = max(1, min(batch_size, 10))
        self.report_failures = report_failures
        self.region = region
        # When set, a crashed batch returns after this many seconds instead of the queue's visibility
        # timeout: the soak test's way of scaling time down, like the retry schedule.
        self.crash_visibility: int | None = None
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, name=f"sqs-{function.spec.logical_id}-{n}", daemon=True)
            for n in range(pollers)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop_soon(self) -> None:
        """Stop polling without waiting for the pollers (called from a thread that must not block)."""
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(wait_seconds=1)
            except (BotocoreConnectionError, HTTPClientError):
                # The emulator is stopping or gone: the runtime says so once (LocalRuntime._watch_emulator).
                self._stop.wait(1)
            except Exception:
                log.exception("poll of %s failed", self.queue_arn)
                self._stop.wait(1)

    def poll_once(self, wait_seconds: int = 0) -> int:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [_record(message, self.queue_arn, self.region) for message in messages]}
        try:
            result = self.function.invoke(event)
        except Exception as error:  # noqa: BLE001 - the whole batch returns to the queue, as in Lambda
            log.warning(
                "%s failed a batch of %d: %s; messages return after their visibility timeout",
                self.function.spec.logical_id,
                len(messages),
                error,
            )
            if self.crash_visibility is not None:
                self.sqs.change_message_visibility_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": self.crash_visibility}
                        for n, m in enumerate(messages)
                    ],
                )
            return len(messages)
        failed: set[str] = set()
        if self.report_failures and isinstance(result, dict):
            failed = {item["itemIdentifier"] for item in result.get("batchItemFailures") or []}
        done = [message for message in messages if message["MessageId"] not in failed]
        log.info(
            "%s ← %d message(s): %d done, %d back to the queue",
            self.function.spec.logical_id,
            len(messages),
            len(done),
            len(messages) - len(done),
        )
        for start in range(0, len(done), 10):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done[start : start + 10])
                ],
            )
        return len(messages)
