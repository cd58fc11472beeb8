"""Signatures: the reference's X-Webhook-Signature (HMAC-SHA256 over the raw body, hex) and the
Standard Webhooks trio (HMAC-SHA256 over "id.timestamp.body", base64), which adds replay protection."""

import hashlib
import hmac
from datetime import UTC, datetime

from standardwebhooks import Webhook as StandardWebhook


def reference_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery_headers(
    *, event: str, timestamp: str, delivery_id: str, body: bytes, secret: str | None, now: datetime | None = None
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "events-api-webhooks/1",
        "X-Webhook-Event": event,
        "X-Webhook-Timestamp": timestamp,
        "X-Webhook-Id": delivery_id,
    }
    if secret:
        sent_at = (now or datetime.now(UTC)).replace(microsecond=0)
        headers["X-Webhook-Signature"] = reference_signature(secret, body)
        headers["webhook-id"] = delivery_id
        headers["webhook-timestamp"] = str(int(sent_at.timestamp()))
        # The secret's own bytes are the key: receivers pass "whsec_" + base64(secret) to the library.
        headers["webhook-signature"] = StandardWebhook(secret.encode()).sign(delivery_id, sent_at, body.decode())
    return headers
