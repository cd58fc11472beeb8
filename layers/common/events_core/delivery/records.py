"""What delivery writes: each attempt (for the API that will list them), and the webhook's
lastTriggered / failCount, updated atomically, with the auto-disable that follows repeated failure."""

from typing import Any

from botocore.exceptions import ClientError

from events_core.aws import LazyTable, conditional_check_failed
from events_core.clock import iso_ms
from events_core.config import settings
from events_core.delivery.envelope import DeliveryMessage
from events_core.delivery.sender import PostResult

_EXISTS = "attribute_exists(webhookId)"


class DeliveryRecords:
    webhooks = LazyTable("webhooks_table")
    attempts = LazyTable("deliveries_table")

    def __init__(self, webhooks: Any = None, attempts: Any = None):
        if webhooks is not None:
            self.webhooks = webhooks
        if attempts is not None:
            self.attempts = attempts

    def record_attempt(self, message: DeliveryMessage, attempt: int, result: PostResult, at_ms: int) -> None:
        item: dict[str, Any] = {
            "webhookId": message.webhook_id,
            "attemptId": f"{iso_ms(at_ms)}#{message.delivery_id}#{attempt}",
            "deliveryId": message.delivery_id,
            "developerId": message.developer_id,
            "eventId": message.event_id,
            "event": message.event,
            "attempt": attempt,
            "latencyMs": result.latency_ms,
            "attemptedAt": iso_ms(at_ms),
            "expiresAt": at_ms // 1000 + settings().log_retention_days * 86400,
        }
        if result.status is not None:
            item["statusCode"] = result.status
        if result.error:
            item["error"] = result.error[:500]
        self.attempts.put_item(Item=item)

    def _key(self, message: DeliveryMessage) -> dict[str, str]:
        return {"developerId": message.developer_id, "webhookId": message.webhook_id}

    def succeeded(self, message: DeliveryMessage, at_ms: int) -> None:
        self._update(
            message,
            UpdateExpression="SET lastTriggered = :at, failCount = :zero",
            ExpressionAttributeValues={":at": iso_ms(at_ms), ":zero": 0},
        )

    def failed(self, message: DeliveryMessage, at_ms: int) -> int:
        """Counts one more consecutive failure; returns the new count (0 if the webhook is gone)."""
        answer = self._update(
            message,
            UpdateExpression="SET lastTriggered = :at ADD failCount :one",
            ExpressionAttributeValues={":at": iso_ms(at_ms), ":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return int((answer or {}).get("Attributes", {}).get("failCount", 0))

    def disable(self, message: DeliveryMessage) -> bool:
        """Disable once: True only for the caller that flipped it (so one alert is sent)."""
        try:
            self.webhooks.update_item(
                Key=self._key(message),
                UpdateExpression="SET enabled = :false REMOVE activeKey",
                ConditionExpression=f"{_EXISTS} AND enabled = :true",
                ExpressionAttributeValues={":false": False, ":true": True},
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return False
            raise
        return True

    def _update(self, message: DeliveryMessage, **kwargs: Any) -> dict | None:
        try:
            return self.webhooks.update_item(Key=self._key(message), ConditionExpression=_EXISTS, **kwargs)
        except ClientError as error:
            if conditional_check_failed(error):
                return None  # deleted meanwhile: nothing to count
            raise
