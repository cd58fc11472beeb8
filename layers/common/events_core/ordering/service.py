"""The ordering routes: a webhook's blocked keys, and releasing one.

GET  /v1/events/webhooks/{id}/ordering            → 200 {blocked: [...], more}
POST /v1/events/webhooks/{id}/ordering/{key}/skip → 200 {key, skippedDeliveryId}

A key is the JSON text of its value (`"wf-1"`, `42`), percent-encoded in the path."""

from typing import Any
from urllib.parse import unquote

from events_core.config import settings
from events_core.errors import BadRequest, NotFound
from events_core.ordering.keys import MAX_KEY_LENGTH
from events_core.ordering.sequencer import Sequencer
from events_core.ordering.state import OrderingStore, digest
from events_core.webhooks import service as webhooks
from events_core.webhooks.model import Webhook

MAX_LISTED = 100


def _ordered(developer_id: str, webhook_id: str) -> Webhook:
    webhook = webhooks.get(developer_id, webhook_id)
    return webhook


def blocked_keys(developer_id: str, webhook_id: str, store: OrderingStore | None = None) -> dict[str, Any]:
    webhook = _ordered(developer_id, webhook_id)
    if webhook.ordering is None:
        return {"blocked": [], "more": False}
    found, after = (store or OrderingStore()).blocked(developer_id, webhook_id, limit=MAX_LISTED)
    return {
        "blocked": [{"key": b.key, "headDeliveryId": b.head, "blockedAt": b.since, "reason": b.reason} for b in found],
        "more": after is not None,
    }


def skip_key(developer_id: str, webhook_id: str, raw_key: str, store: OrderingStore | None = None) -> dict[str, Any]:
    key = unquote(raw_key)
    if not key or len(key) > MAX_KEY_LENGTH:
        raise BadRequest(f"key: the key's JSON text, 1 to {MAX_KEY_LENGTH} characters, URL-encoded", field="key")
    webhook = _ordered(developer_id, webhook_id)
    store = store or OrderingStore()
    if webhook.ordering is None:
        raise NotFound(f"webhook {webhook_id[:64]!r} is not ordered")
    skipped = store.skip(developer_id, webhook_id, digest(key))
    if skipped is None:
        raise NotFound(f"key {key[:64]!r} is not blocked")
    Sequencer(settings(), store).hand_over(developer_id, webhook_id, digest(key), webhook.ordering)
    return {"key": key, "skippedDeliveryId": skipped}
