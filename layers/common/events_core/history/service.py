"""Delivery-history use cases behind the API, each scoped to the calling developer's webhook:
list, read one, redeliver one, recover every dead one in a time window."""

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from events_core import cursors
from events_core.budgets import BudgetExceeded, take_posts
from events_core.clock import iso_ms, now_ms
from events_core.config import settings
from events_core.delivery import queues
from events_core.delivery.controls import release_message, slot_out_of_reach
from events_core.errors import (
    BadRequest,
    Conflict,
    DeliveryWaiting,
    NotFound,
    PayloadExpired,
    RateLimited,
    Unavailable,
)
from events_core.http import known_query, query_limit
from events_core.lifecycle import retention
from events_core.records.message import DeliveryMessage, Trigger, is_delivery_id, window_bound
from events_core.records.model import DeliveryRecord, DeliveryStatus, webhook_key
from events_core.records.payloads import PayloadStore
from events_core.records.store import DeliveryStore
from events_core.webhooks import ownership
from events_core.webhooks import service as webhooks
from events_core.webhooks.model import Webhook
from events_core.webhooks.requests import known_fields

DEFAULT_PAGE = 50
MAX_PAGE = 100
RECOVER_BATCH = 1000  # posts one recover call queues at most
RECOVER_CHUNK = 25  # read, queued and marked together: what one step holds in memory
RECOVER_BYTES = 8 * 1024 * 1024  # payload bytes one call queues at most (large payloads: fewer)
RECOVER_MARGIN_SECONDS = 5.0  # stop a step this long before the function's timeout
# On their way already (issue 21): nothing here queues them again, or a post would skip the
# circuit or its rate-limit slot. Recover takes only dead ones; redeliver answers 409.
WAITING = frozenset({DeliveryStatus.HELD, DeliveryStatus.THROTTLED})


@dataclass(frozen=True)
class DeliveryQuery:
    limit: int = DEFAULT_PAGE
    status: DeliveryStatus | None = None
    since_ms: int | None = None
    cursor: str | None = None


DELIVERY_QUERY = frozenset({"limit", "status", "since", "cursor"})


def parse_query(params: dict[str, str]) -> DeliveryQuery:
    params = known_query(params, DELIVERY_QUERY)
    limit = query_limit(params.get("limit"), default=DEFAULT_PAGE, maximum=MAX_PAGE)
    status = None
    if "status" in params:
        try:
            status = DeliveryStatus(params["status"])
        except ValueError:
            choices = ", ".join(s.value for s in DeliveryStatus)
            raise BadRequest(f"status: one of {choices}, got {params['status'][:32]!r}", field="status") from None
    since = window_bound("since", params["since"]) if "since" in params else None
    return DeliveryQuery(limit=limit, status=status, since_ms=since, cursor=params.get("cursor"))


def _owned(developer_id: str, webhook_id: str) -> Webhook:
    return webhooks.get(developer_id, webhook_id)  # 404 for another developer's webhook


def list_deliveries(developer_id: str, webhook_id: str, query: DeliveryQuery) -> dict[str, Any]:
    _owned(developer_id, webhook_id)
    page = DeliveryStore().page(
        developer_id, webhook_id, limit=query.limit, status=query.status, since_ms=query.since_ms, cursor=query.cursor
    )
    kept, at = retention.retention_of(developer_id), now_ms()
    shown = (retention.applied(record, kept, at) for record in page.records)  # past its retention: gone
    return {"deliveries": [record.public() for record in shown if record], "nextCursor": page.next_cursor}


def get_delivery(developer_id: str, webhook_id: str, delivery_id: str) -> DeliveryRecord:
    """One delivery, with its payload (read from where a large one is stored once)."""
    _owned(developer_id, webhook_id)
    kept = retention.applied(
        _record(developer_id, webhook_id, delivery_id), retention.retention_of(developer_id), now_ms()
    )
    if kept is None:
        raise NotFound(f"delivery {delivery_id[:64]!r} not found")
    record = kept
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
    return release_message(record, trigger)


def _enabled(webhook: Webhook) -> None:
    ownership.require_verified(webhook, settings())  # 409 unverified, before the plainer "disabled"
    if not webhook.enabled:
        raise Conflict("the webhook is disabled; enable it (PATCH enabled: true) before sending to it again")


def _waiting(record: DeliveryRecord) -> DeliveryWaiting:
    if record.status == DeliveryStatus.HELD:
        return DeliveryWaiting(
            "this delivery is held while its webhook's circuit is open; it is posted when a probe "
            "succeeds (a redeliver now would bypass the circuit)"
        )
    return DeliveryWaiting(
        "this delivery is throttled: it is queued for its slot under the webhook's rate limit "
        "(a redeliver now would post it twice)"
    )


def _not_throttled(webhook: Webhook) -> None:
    """A webhook whose rate limit has no slot within reach answers 429 before anything is reserved
    (no budget token, no slot): a redeliver never pushes the next real event back."""
    now = now_ms()
    free = slot_out_of_reach(webhook, now)
    if free is not None:
        wait = max(1, math.ceil((free - now) / 1000))
        raise RateLimited(
            f"the webhook's rate limit has no slot free for {wait} s; nothing was queued, retry after it",
            retry_after=wait,
        )


def redeliver(developer_id: str, webhook_id: str, delivery_id: str) -> dict[str, Any]:
    """One more post of the stored payload, whatever the delivery's status except `held` and
    `throttled` (409 delivery_waiting: already on its way, through the circuit or at its slot):
    the same delivery id, fresh timestamp and signatures with the webhook's current secret(s)."""
    webhook = _owned(developer_id, webhook_id)
    record = _record(developer_id, webhook_id, delivery_id)
    _enabled(webhook)
    if record.status in WAITING:
        raise _waiting(record)
    retention.sendable(record, retention.retention_of(developer_id), now_ms())  # 409 when expunged or not kept
    message = _message(record, Trigger.REDELIVER)
    if not record.payload and record.payload_ref and PayloadStore().get(developer_id, record.payload_ref) is None:
        # Removed when its last delivery settled (payloadDays 0 then), or by an expunge of another delivery.
        raise PayloadExpired("this delivery's payload is no longer stored; it cannot be sent again")
    store = DeliveryStore()
    if record.lease_until_ms is not None and record.lease_until_ms >= now_ms():
        raise Conflict("this delivery is being attempted right now; try again in a moment")
    _not_throttled(webhook)
    take_posts(developer_id, webhook_id, 1, settings())
    if not store.requeued(record, only_if_dead=False, now_ms=now_ms()):
        now = store.get(developer_id, webhook_id, delivery_id)
        if now is not None and now.status in WAITING:
            raise _waiting(now)  # it began waiting since it was read
        raise Conflict("this delivery is being attempted right now; try again in a moment")
    try:
        queues.send_one(settings().delivery_queue_url, queues.Outgoing(message.to_json(), developer_id))
    except ClientError:
        store.unqueue(record)
        raise Unavailable("the delivery queue refused the message; nothing was queued, retry") from None
    return {"deliveryId": delivery_id, "queued": True}


def parse_window(body: Any) -> tuple[int, int | None, str | None]:
    """(since, until or None for "now", cursor) of a recover body."""
    if not isinstance(body, dict):
        raise BadRequest("body: must be a JSON object")
    known_fields(body, ("since", "until", "cursor"))
    if "since" not in body:
        raise BadRequest("since: is required (ISO-8601 time)", field="since")
    since = window_bound("since", body["since"])
    until = None
    if body.get("until") is None:
        if since > now_ms():
            raise BadRequest("since: is in the future; nothing can have died yet", field="since")
    else:
        until = window_bound("until", body["until"])
        if until < since:
            raise BadRequest("until: must not be before since", field="until")
    cursor = body.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise BadRequest("cursor: must be a string", field="cursor")
    return since, until, cursor


def _recover_scope(developer_id: str, webhook_id: str, since: int) -> dict[str, Any]:
    return {"route": "recover", "key": webhook_key(developer_id, webhook_id), "since": since}


def _resume(scope: dict[str, Any], cursor: str | None, until: int | None) -> tuple[str | None, int]:
    """Where a recover goes on (after which delivery id) and its window's end: a cursor carries
    the `until` of the call that handed it out, so a window stays the same page after page."""
    if cursor is None:
        return None, until if until is not None else now_ms()
    state = cursors.open_cursor(cursor, scope)
    after, sealed_until = state.get("after"), state.get("until")
    if not isinstance(after, str) or not is_delivery_id(after) or not isinstance(sealed_until, int):
        raise cursors.InvalidCursor("cursor: not a cursor this API handed out for this query", field="cursor")
    if until is not None and until != sealed_until:
        raise cursors.InvalidCursor("cursor: belongs to another window (until)", field="cursor")
    return after, sealed_until


@dataclass
class _Progress:
    queued: int = 0
    not_queued: int = 0
    payload_bytes: int = 0


def _recover_chunk(
    store: DeliveryStore,
    developer_id: str,
    webhook_id: str,
    chunk: list[tuple[str, int]],
    tally: _Progress,
    kept: retention.Retention,
) -> bool:
    """Read, queue, then mark one chunk. Queued before marked: a crash in between leaves records
    dead with their message already queued (the worker's lease turns any duplicate into a no-op),
    never pending without a message. False when the records could not be read (stop here)."""
    records = store.fetch(developer_id, webhook_id, [delivery_id for delivery_id, _ in chunk])
    if records is None:
        return False
    at = now_ms()
    ready = [
        record
        for record in records
        if record.status == DeliveryStatus.DEAD
        and (record.payload or record.payload_ref)
        and not record.expunged
        and not retention.payload_gone(record, kept, at)  # past the developer's payloadDays
        and record.lease_until_ms is None
    ]
    outgoing = [
        queues.Outgoing(_message(record, Trigger.RECOVER).to_json(), developer_id, tag=record) for record in ready
    ]
    refused = {id(o.tag) for o in queues.send_all(settings().delivery_queue_url, outgoing)}
    sent = [record for record in ready if id(record) not in refused]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda record: store.requeued(record, only_if_dead=True), sent))
    tally.queued += len(sent)
    tally.not_queued += len(refused)
    tally.payload_bytes += sum(len(record.payload or "") for record in sent)
    return True


def recover(developer_id: str, webhook_id: str, body: Any, *, seconds_left: float = 28.0) -> dict[str, Any]:
    """Queue again the dead deliveries of the webhook in [since, until], in chunks of
    RECOVER_CHUNK, until RECOVER_BATCH posts, RECOVER_BYTES of payload, the function's time or the
    post budget (events_core.budgets) runs out; nextCursor goes on. Each is queued once even if
    this is called twice in a row (the second finds them pending)."""
    since, until, cursor = parse_window(body)
    webhook = _owned(developer_id, webhook_id)
    _enabled(webhook)
    kept = retention.retention_of(developer_id)
    if kept.payload_days == 0:
        raise retention.PayloadNotKept(
            "recover cannot send dead deliveries again: their payloads are not kept once they settle"
            " (settings retention.payloadDays = 0)"
        )
    scope = _recover_scope(developer_id, webhook_id, since)
    after, until = _resume(scope, cursor, until)
    store = DeliveryStore()
    stop_at = time.monotonic() + max(seconds_left - RECOVER_MARGIN_SECONDS, 1.0)
    tally = _Progress()
    more = True
    while tally.queued < RECOVER_BATCH and tally.payload_bytes < RECOVER_BYTES and time.monotonic() < stop_at:
        wanted = min(RECOVER_CHUNK, RECOVER_BATCH - tally.queued)
        keys = store.dead_keys(developer_id, webhook_id, since_ms=since, until_ms=until, after=after, limit=wanted)
        if not keys:
            more = False
            break
        try:
            granted = take_posts(developer_id, webhook_id, len(keys), settings())
        except BudgetExceeded:
            if tally.queued or tally.not_queued:
                break  # spent mid-way: answer what was queued; nextCursor goes on from here
            raise
        chunk = keys[:granted]
        if not _recover_chunk(store, developer_id, webhook_id, chunk, tally, kept):
            if not (tally.queued or tally.not_queued):
                raise Unavailable("the deliveries could not be read for a moment; nothing was queued, retry")
            break
        after = chunk[-1][0]
        if granted < len(keys):
            break
    if tally.not_queued and not tally.queued:
        raise Unavailable("the delivery queue refused the messages; nothing was queued, retry")
    answer: dict[str, Any] = {
        "queued": tally.queued,
        "nextCursor": cursors.seal({"after": after, "until": until}, scope) if more and after else None,
        "window": {"since": iso_ms(since), "until": iso_ms(until)},
    }
    if tally.not_queued:
        answer["notQueued"] = tally.not_queued
    return answer
