"""Fan-out: one platform event → one delivery message per enabled, matching webhook of its developer."""

import json

from events_core.config import Settings
from events_core.delivery import queues
from events_core.delivery.envelope import DeliveryMessage, PlatformEvent, parse_envelope
from events_core.errors import InvalidEvent
from events_core.observability import logger
from events_core.webhooks.filters import matches
from events_core.webhooks.repository import WebhookRepository


def matching_webhooks(event: PlatformEvent, repository: WebhookRepository) -> list[str]:
    """One Query on the sparse index of enabled webhooks of (developer, event type), then filters."""
    return [
        hook["webhookId"]
        for hook in repository.active_for(event.developer_id, event.event_type)
        if matches(json.loads(hook.get("filterJson") or "{}"), event.data)
    ]


def fan_out(event: PlatformEvent, settings: Settings, repository: WebhookRepository | None = None) -> int:
    webhook_ids = matching_webhooks(event, repository or WebhookRepository())
    messages = [DeliveryMessage.for_webhook(event, webhook_id).to_json() for webhook_id in webhook_ids]
    queues.send_batched(settings.delivery_queue_url, messages)
    return len(messages)


def handle(body: str, config: Settings) -> int:
    """Process one events-queue record. A bad event is dead-lettered with its reason, not retried."""
    try:
        event = parse_envelope(body, config.event_source)
    except InvalidEvent as invalid:
        logger.warning("event not delivered", extra={"reason": str(invalid)})
        queues.dead_letter(config.events_dlq_url, body, f"invalid event: {invalid}")
        return 0
    logger.set_correlation_id(event.event_id)
    count = fan_out(event, config)
    logger.info(
        "event fanned out",
        extra={"event_type": event.event_type, "developer_id": event.developer_id, "deliveries": count},
    )
    return count
