"""Signatures: the reference's X-Webhook-Signature (HMAC-SHA256 over the raw body, hex) and the
Standard Webhooks trio (HMAC-SHA256 over "id.timestamp.body", base64), which adds replay protection.

During a secret rotation's overlap both secrets sign: X-Webhook-Signature with the new one,
X-Webhook-Signature-Previous with the old one, and webhook-signature carries both
("v1,<new> v1,<old>"), so a receiver holding either secret verifies.

Every post also carries the W3C `traceparent` (and `tracestate` when there is one) of the span
that makes it; a post made outside any trace (an ownership challenge) starts one of its own
(events_core.tracing).
"""

import hashlib
import hmac
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from standardwebhooks import Webhook as StandardWebhook

from events_core.tracing import TraceContext, new_trace

if TYPE_CHECKING:
    from events_core.config import Settings
    from events_core.webhooks.model import Webhook


def with_asymmetric(
    headers: dict[str, str], webhook: "Webhook", config: "Settings", delivery_id: str, body: bytes
) -> dict[str, str]:
    """The headers with the developer's `v1a` signatures when the webhook asks for them (opt-in:
    the key store is loaded only by a post that needs it)."""
    if not webhook.asymmetric_signature:
        return headers
    from events_core.signing_keys import signer, with_v1a

    return with_v1a(headers, signer(config), webhook.developer_id, delivery_id, body)


def reference_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery_headers(
    *,
    event: str,
    timestamp: str,
    delivery_id: str,
    body: bytes,
    secrets: Sequence[str] = (),
    now: datetime | None = None,
    trace: TraceContext | None = None,
    standard_keys: Sequence[bytes] | None = None,
) -> dict[str, str]:
    """`secrets`: the current secret first, then the previous one while its overlap lasts; `trace`:
    the context of the span making this post (None: a trace of its own); `standard_keys`: the
    Standard Webhooks keys when they are not the secrets' own bytes (a listen session's whsec_)."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "events-api-webhooks/1",
        "X-Webhook-Event": event,
        "X-Webhook-Timestamp": timestamp,
        "X-Webhook-Id": delivery_id,
        **(trace or new_trace()).headers(),
    }
    if secrets:
        sent_at = (now or datetime.now(UTC)).replace(microsecond=0)
        headers["X-Webhook-Signature"] = reference_signature(secrets[0], body)
        if len(secrets) > 1:
            headers["X-Webhook-Signature-Previous"] = reference_signature(secrets[1], body)
        headers["webhook-id"] = delivery_id
        headers["webhook-timestamp"] = str(int(sent_at.timestamp()))
        # Each secret's own bytes are the key: receivers pass "whsec_" + base64(secret) to the library.
        text = body.decode()
        keys = standard_keys if standard_keys is not None else [secret.encode() for secret in secrets]
        headers["webhook-signature"] = " ".join(StandardWebhook(key).sign(delivery_id, sent_at, text) for key in keys)
    return headers
