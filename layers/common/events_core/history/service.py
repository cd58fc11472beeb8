"""Delivery-history use cases behind the API, each scoped to the calling developer's webhook:
list, read one, redeliver one, recover every dead one in a time window."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from events_core.clock import iso_ms, now_ms, parse_iso
from events_core.config import settings
from events_core.delivery import queues
from events_core.errors import BadRequest, Conflict, NotFound, PayloadExpired, Unavailable
from events_core.http import query_limit
from events_core.records.message import LAST_ENCODABLE_MS, DeliveryMessage, Trigger, is_delivery_id
from events_core.records.model import DeliveryRecord, DeliveryStatus
from events_core.records.payloads import PayloadStore
from events_core.records.store import DeliveryStore, Page
from events_core.webhooks import service as webhooks
from events_core.webhooks import verification
from events_core.webhooks.model import Webhook
from events_core.webhooks.requests import known_fields

DEFAULT_PAGE = 50
MAX_PAGE = 100
RECOVER_BATCH = 1000


@dataclass(frozen=True)
class DeliveryQuery:
    limit: int = DEFAULT_PAGE
    status: DeliveryStatus | None = None
    since_ms: int | None = None
    cursor: str | None = None


def _time(name: str, value: Any) -> int:
    """Epoch milliseconds of an ISO-8601 time; before 1970 means from the start, past 2106 until the end."""
    if not isinstance(value, str) or len(value) > 64:
        raise BadRequest(f"{name}: must be an ISO-8601 time, like 2026-04-12T08:00:00.000Z", field=name)
    try:
        found = parse_iso(value)
    except (ValueError, OverflowError, OSError):
        raise BadRequest(f"{name}: must be an ISO-8601 time, like 2026-04-12T08:00:00.000Z", field=name) from None
    return min(max(found, 0), LAST_ENCODABLE_MS)


def parse_query(params: dict[str, str]) -> DeliveryQuery:
    unknown = sorted(set(params) - {"limit", "status", "since", "cursor"})
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(u[:32] for u in unknown[:5])}", field=unknown[0][:32])
    limit = query_limit(params.get("limit"), default=DEFAULT_PAGE, maximum=MAX_PAGE)
    status = None
    if "status" in params:
        try:
            status = DeliveryStatus(params["status"])
        except ValueError:
            choices = ", ".join(s.value for s in DeliveryStatus)
            raise BadRequest(f"status: one of {choices}, got {params['status'][:32]!r}", field="status") from None
    since = _time("since", params["since"]) if "since" in params else None
    return DeliveryQuery(limit=limit, status=status, since_ms=since, cursor=params.get("cursor"))


def _owned(developer_id: str, webhook_id: str) -> Webhook:
    return webhooks.get(developer_id, webhook_id)  # 404 for another developer's webhook


def list_deliveries(developer_id: str, webhook_id: str, query: DeliveryQuery) -> dict[str, Any]:
    _owned(developer_id, webhook_id)
    page = DeliveryStore().page(
        developer_id, webhook_id, limit=query.limit, status=query.status, since_ms=query.since_ms, cursor=query.cursor
    )
    return {"deliveries": [record.public() for record in page.records], "nextCursor": page.next_cursor}


def get_delivery(developer_id: str, webhook_id: str, delivery_id: str) -> DeliveryRecord:
    """One delivery, with its payload (read from where a large one is stored once)."""
    _owned(developer_id, webhook_id)
    record = _record(developer_id, webhook_id, delivery_id)
    if record.payload is None and record.payload_ref:
        stored = PayloadStore().get(developer_id, record.payload_ref)
        record.payload = stored.text if stored else None
    return record


def _record(developer_id: str, webhook_id: str, delivery_id: str) -> DeliveryRecord:
    """A delivery of a webhook whose ownership was checked."""
    record = DeliveryStore().get(developer_id, webhook_id, delivery_id) if is_delivery_id(delivery_id) else None
    if record is None:
        raise NotFound(f"delivery {delivery_id[:64]!r} not found")
    return record


def _message(record: DeliveryRecord, trigger: Trigger) -> DeliveryMessage:
    if not record.payload and not record.payload_ref:
        raise PayloadExpired("this delivery's payload is no longer stored; it cannot be sent again")
    return DeliveryMessage(
        delivery_id=record.delivery_id,
        webhook_id=record.webhook_id,
        developer_id=record.developer_id,
        event_id=record.event_id,
        event=record.event,
        timestamp=record.created_at,
        payload=record.payload or None,
        payload_ref=None if record.payload else record.payload_ref,
        attempt=record.attempt + 1,
        trigger=trigger,
        queued_at_ms=now_ms(),
    )


def _enabled(webhook: Webhook) -> None:
    verification.require_verified(webhook, settings())  # 409 unverified, before the plainer "disabled"
    if not webhook.enabled:
        raise Conflict("the webhook is disabled; enable it (PATCH enabled: true) before sending to it again")


def redeliver(developer_id: str, webhook_id: str, delivery_id: str) -> dict[str, Any]:
    """One more post of the stored payload, whatever the delivery's status: the same delivery id,
    fresh timestamp and signatures with the webhook's current secret(s)."""
    webhook = _owned(developer_id, webhook_id)
    record = _record(developer_id, webhook_id, delivery_id)
    _enabled(webhook)
    message = _message(record, Trigger.REDELIVER)
    store = DeliveryStore()
    if not store.requeued(record, only_if_dead=False):
        raise Conflict("this delivery is being attempted right now; try again in a moment")
    try:
        queues.send_one(settings().delivery_queue_url, queues.Outgoing(message.to_json(), developer_id))
    except ClientError:
        store.unqueue(record)
        raise Unavailable("the delivery queue refused the message; nothing was queued, retry") from None
    return {"deliveryId": delivery_id, "queued": True}


def parse_window(body: Any) -> tuple[int, int, str | None]:
    if not isinstance(body, dict):
        raise BadRequest("body: must be a JSON object")
    known_fields(body, ("since", "until", "cursor"))
    if "since" not in body:
        raise BadRequest("since: is required (ISO-8601 time)", field="since")
    since = _time("since", body["since"])
    if body.get("until") is None:
        until = now_ms()
        if since > until:
            raise BadRequest("since: is in the future; nothing can have died yet", field="since")
    else:
        until = _time("until", body["until"])
        if until < since:
            raise BadRequest("until: must not be before since", field="until")
    cursor = body.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise BadRequest("cursor: must be a string", field="cursor")
    return since, until, cursor


def recover(developer_id: str, webhook_id: str, body: Any) -> dict[str, Any]:
    """Queue again every dead delivery of the webhook in [since, until]: at most RECOVER_BATCH per
    call (nextCursor goes on). Each is queued once even if this is called twice in a row."""
    since, until, cursor = parse_window(body)
    webhook = _owned(developer_id, webhook_id)
    _enabled(webhook)
    store = DeliveryStore()
    page: Page = store.dead_between(
        developer_id, webhook_id, since_ms=since, until_ms=until, limit=RECOVER_BATCH, cursor=cursor
    )
    ready = [record for record in page.records if record.payload or record.payload_ref]
    # Marked first, then queued: a second call finds them pending, so each is queued once.
    with ThreadPoolExecutor(max_workers=16) as pool:
        marked = list(pool.map(lambda record: store.requeued(record, only_if_dead=True), ready))
    claimed = [record for record, ok in zip(ready, marked, strict=True) if ok]
    outgoing = [
        queues.Outgoing(_message(record, Trigger.RECOVER).to_json(), developer_id, tag=record) for record in claimed
    ]
    refused = [o.tag for o in queues.send_all(settings().delivery_queue_url, outgoing)]
    for record in refused:
        store.unqueue(record)  # dead again, for the next call
    if refused and len(refused) == len(claimed):
        raise Unavailable("the delivery queue refused the messages; nothing was queued, retry")
    answer: dict[str, Any] = {
        "queued": len(claimed) - len(refused),
        "nextCursor": page.next_cursor,
        "window": {"since": iso_ms(since), "until": iso_ms(until)},
    }
    if refused:
        answer["notQueued"] = len(refused)
    return answer
