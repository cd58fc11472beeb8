"""The ownership challenge's POST (events_core.webhooks.verification): signed like a delivery, with
X-Webhook-Event: webhook.verification, through the outbound gate as purpose `verification`. It
spends the developer's post budget like a test send. It carries the webhook's custom headers and
OAuth2 bearer token only to an origin that has already proven itself (the gate decides): a new
URL learns no credential by being challenged. A receiver that demands its credentials before it
answers verifies through the challenge's verifyUrl instead."""

from events_core import jsonsafe
from events_core.clock import iso_ms, now_ms
from events_core.config import Settings
from events_core.delivery.envelope import payload_text
from events_core.delivery.gate import OutboundContext, Post, Purpose, gate
from events_core.delivery.sender import PostResult
from events_core.delivery.signing import delivery_headers, with_asymmetric
from events_core.records.message import new_delivery_id
from events_core.secrets import secret_box
from events_core.webhooks.model import Webhook

EVENT = "webhook.verification"


def post_challenge(
    webhook: Webhook, challenge: str, verify_url: str, config: Settings, *, deadline_seconds: float
) -> PostResult:
    at = now_ms()
    timestamp = iso_ms(at)
    delivery_id = new_delivery_id(at)
    data = {"challenge": challenge, "webhookId": webhook.webhook_id, "verifyUrl": verify_url}
    body = payload_text(EVENT, timestamp, jsonsafe.dumps(data)).encode()
    box = secret_box(config)
    headers = delivery_headers(
        event=EVENT,
        timestamp=timestamp,
        delivery_id=delivery_id,
        body=body,
        secrets=box.signing_secrets(webhook, at),
    )
    headers = with_asymmetric(headers, webhook, config, delivery_id, body)
    context = OutboundContext(webhook, webhook.developer_id, Purpose.VERIFICATION, delivery_id, at)
    passage = gate(config).send(context, Post(body, headers, deadline_seconds))
    if passage.result is not None:
        return passage.result
    verdict = passage.verdict
    if verdict is not None and verdict.error is not None:
        raise verdict.error  # a spent post budget, a throttled webhook: the caller's 429
    return PostResult(error=f"not sent: {verdict.reason}" if verdict else "not sent")
