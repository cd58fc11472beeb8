"""One delivery-queue message, one attempt: re-read the webhook, sign, POST, record, then deliver,
retry later (visibility back-off), or rest in the dead-letter queue with the reason."""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from events_core import aws
from events_core.clock import now_ms
from events_core.config import Settings, settings
from events_core.delivery import queues
from events_core.delivery.envelope import DeliveryMessage
from events_core.delivery.records import DeliveryRecords
from events_core.delivery.retry import next_delay
from events_core.delivery.sender import PostResult, Sender
from events_core.delivery.signing import delivery_headers
from events_core.observability import logger
from events_core.webhooks.repository import WebhookRepository

IN_PROGRESS_RETRY_SECONDS = 30
# A delivery id that was posted successfully is remembered this long (covers any fan-out re-run).
IDEMPOTENCY_SECONDS = 2 * 86400
_idempotency = IdempotencyConfig(event_key_jmespath="deliveryId", expires_after_seconds=IDEMPOTENCY_SECONDS)


class RetryScheduled(Exception):
    """Reported as a batch-item failure: SQS shows the message again after the back-off."""


@dataclass
class NotDelivered(Exception):
    """Raised inside the idempotent section so that a failed attempt leaves no idempotency record."""

    verdict: str  # "retry", "dead" or "skipped"
    reason: str
    delay: int | None = None


class Deliverer:
    def __init__(
        self,
        config: Settings,
        *,
        webhooks: WebhookRepository | None = None,
        records: DeliveryRecords | None = None,
        sender: Sender | None = None,
    ):
        self.settings = config
        self.webhooks = webhooks or WebhookRepository()
        self.records = records or DeliveryRecords()
        self.sender = sender or Sender(config)

    def attempt(self, message: DeliveryMessage, attempt: int) -> PostResult:
        """Post once; return on success, raise NotDelivered otherwise."""
        webhook = self.webhooks.get(message.developer_id, message.webhook_id)
        if webhook is None:
            raise NotDelivered("skipped", "webhook deleted")
        if not webhook.enabled:
            raise NotDelivered("dead", "webhook disabled")
        body = message.body()
        headers = delivery_headers(
            event=message.event,
            timestamp=message.timestamp,
            delivery_id=message.delivery_id,
            body=body,
            secret=webhook.secret,
        )
        result = self.sender.post(webhook.url, body, headers)
        at = now_ms()
        self._record(message, attempt, result, at)
        if result.ok:
            self.records.succeeded(message, at)
            return result
        fail_count = self.records.failed(message, at)
        if result.status == 410:
            self._disable(message, webhook.url, "the receiver answered 410 Gone")
            raise NotDelivered("dead", "HTTP 410: webhook disabled")
        if fail_count >= self.settings.failure_threshold:
            self._disable(message, webhook.url, f"{fail_count} consecutive failed deliveries")
            raise NotDelivered("dead", f"{result.describe()}; webhook disabled after {fail_count} consecutive failures")
        delay = next_delay(attempt, self.settings, result.retry_after)
        if delay is None:
            raise NotDelivered("dead", f"{result.describe()} after {attempt} attempts")
        raise NotDelivered("retry", result.describe(), delay)

    def _record(self, message: DeliveryMessage, attempt: int, result: PostResult, at: int) -> None:
        try:
            self.records.record_attempt(message, attempt, result, at)
        except Exception:  # noqa: BLE001 - a lost attempt record must not turn into a duplicate post
            logger.warning("delivery attempt not recorded", extra={"delivery_id": message.delivery_id}, exc_info=True)

    def _disable(self, message: DeliveryMessage, url: str, why: str) -> None:
        if not self.records.disable(message):
            return  # another attempt disabled it first and sent the alert
        logger.warning("webhook disabled", extra={"webhook_id": message.webhook_id, "why": why})
        queues.publish_event(
            self.settings.event_bus_name,
            self.settings.event_source,
            "alert.triggered",
            message.developer_id,
            {
                "alertType": "webhook.disabled",
                "source": "events-api",
                "message": f"Webhook {message.webhook_id} ({url}) was disabled: {why}",
                "severity": "warning",
                "webhookId": message.webhook_id,
            },
        )


@cache
def _deliverer(config: Settings) -> Deliverer:
    return Deliverer(config)


@cache
def _post_once(config: Settings) -> Any:
    persistence = DynamoDBPersistenceLayer(table_name=config.idempotency_table, boto3_client=aws.client("dynamodb"))

    def post(message: dict) -> dict:
        result = _deliverer(config).attempt(DeliveryMessage.from_json(message["body"]), message["attempt"])
        return {"status": result.status}

    return idempotent_function(
        post, data_keyword_argument="message", persistence_store=persistence, config=_idempotency
    )


def bind_context(context: Any) -> None:
    """Lets an in-progress idempotency record expire with the invocation that wrote it (crash safety)."""
    _idempotency.register_lambda_context(context)


def handle(body: str, receipt_handle: str, attempt: int) -> str:
    """Process one delivery-queue record. Returns the verdict; raises RetryScheduled to keep it queued."""
    config = settings()
    try:
        message = DeliveryMessage.from_json(body)
    except (json.JSONDecodeError, TypeError) as error:
        queues.dead_letter(config.delivery_dlq_url, body, f"malformed delivery message: {error}", attempt)
        return "dead"
    log = {"delivery_id": message.delivery_id, "webhook_id": message.webhook_id, "attempt": attempt}
    try:
        result = _post_once(config)(message={"deliveryId": message.delivery_id, "attempt": attempt, "body": body})
    except IdempotencyAlreadyInProgressError:
        queues.retry_after(config.delivery_queue_url, receipt_handle, IN_PROGRESS_RETRY_SECONDS)
        raise RetryScheduled("the same delivery is being posted by another invocation") from None
    except NotDelivered as outcome:
        if outcome.verdict == "retry" and outcome.delay is not None:
            logger.info("delivery failed; will retry", extra={**log, "reason": outcome.reason, "delay": outcome.delay})
            queues.retry_after(config.delivery_queue_url, receipt_handle, outcome.delay)
            raise RetryScheduled(outcome.reason) from None
        if outcome.verdict == "dead":
            logger.warning("delivery dead-lettered", extra={**log, "reason": outcome.reason})
            queues.dead_letter(config.delivery_dlq_url, body, outcome.reason, attempt)
        else:
            logger.info("delivery dropped", extra={**log, "reason": outcome.reason})
        return outcome.verdict
    except Exception:
        # Not the receiver's doing (AWS trouble, a bug): the message returns after the queue's
        # visibility timeout and counts as an attempt; the redrive policy bounds the loop.
        logger.exception("delivery attempt failed unexpectedly", extra=log)
        raise
    logger.info("delivered", extra={**log, "status": result.get("status")})
    return "delivered"


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=settings().delivery_concurrency, thread_name_prefix="delivery")


async def handle_async(body: str, receipt_handle: str, attempt: int) -> str:
    """The posts of one batch run concurrently, each blocking call on the shared pool."""
    return await asyncio.get_running_loop().run_in_executor(_pool(), handle, body, receipt_handle, attempt)
