"""Listen sessions behind the API, each scoped to the calling developer: open, list, poll (long),
answer, end; and test triggers into a developer's sessions.

Another developer's session id answers exactly like an unknown one (404).

A session costs what a webhook costs: its deliveries name the event's payload, stored once in the
payloads table however many sessions take it; it keeps the records of its last LISTEN_KEPT
deliveries for a day; a poll reads only what it may hand out (the ReadyByTime index), holds one of
POLLS_PER_SESSION and POLLS_PER_DEVELOPER slots while it runs (else 429 with Retry-After), and
leases only what fits in one answer below Lambda's 6 MB response limit. Triggers take the post
budget and are marked like test sends (`"test": true` signed in the body, X-Webhook-Test: true).
"""

import json
import math
import secrets as random_secrets
import time
from collections.abc import Callable
from typing import Any

from events_core import jsonsafe
from events_core.clock import iso_ms, now_ms
from events_core.config import settings
from events_core.errors import LimitExceeded, NotFound, PayloadExpired, RateLimited
from events_core.listen import examples
from events_core.listen.model import (
    LISTEN_KEPT,
    POLLS_PER_DEVELOPER,
    POLLS_PER_SESSION,
    SESSION_IDLE_MS,
    SESSION_SLOTS,
    Session,
    Waiting,
    session_id_for,
    slot_of,
)
from events_core.listen.repository import ListenStore
from events_core.listen.requests import parse_answer, parse_opening, parse_trigger, whsec_key
from events_core.records.message import is_delivery_id, new_delivery_id
from events_core.records.model import Attempt, DeliveryRecord, DeliveryStatus
from events_core.secrets import secret_box
from events_core.tracing import TraceContext, handout_trace, new_trace
from events_core.webhooks.filters import to_stored

LEASE_MS = 30_000  # a delivery handed out and not answered comes back after this
POLL_EVERY_SECONDS = 0.3
RENEW_EVERY_MS = 60_000  # a poll renews the session's 2 h at most this often (one write)
WAITING_TTL_SECONDS = 86_400  # a waiting delivery, and a session's delivery records, last a day
MAX_ANSWER_BYTES = 5_000_000  # a poll's answer as Lambda returns it, below its 6 MB response limit
ANSWER_ENVELOPE_BYTES = 4_096  # the proxy answer's status, headers and `{"deliveries":[]}`
TEST_HEADER = "X-Webhook-Test"  # as a webhook's test send (events_core.delivery.probe)


def _not_found(session_id: str) -> NotFound:
    return NotFound(f"listen session {session_id[:64]!r} not found")


def live_session(developer_id: str, session_id: str, store: ListenStore, at_ms: int) -> Session:
    session = store.session(developer_id, session_id)
    if session is None or not session.live(at_ms):
        raise _not_found(session_id)
    return session


def open_session(developer_id: str, body: Any, store: ListenStore | None = None) -> dict[str, Any]:
    opening = parse_opening(body)
    store = store or ListenStore()
    config = settings()
    at = now_ms()
    taken = {s.slot for s in store.sessions_of(developer_id, consistent=True) if s.live(at)}
    secret = opening.secret or random_secrets.token_urlsafe(32)
    for slot in (n for n in range(SESSION_SLOTS) if n not in taken):
        session_id = session_id_for(slot)
        session = Session(
            developer_id=developer_id,
            session_id=session_id,
            events=opening.events,
            filter_json=to_stored(opening.filter),
            sealed_secret=secret_box(config).seal(secret, developer_id, session_id),
            created_at_ms=at,
            expires_at_ms=at + SESSION_IDLE_MS,
        )
        if store.take_slot(session, at):
            return {**session.public(), "secret": secret}
    raise LimitExceeded(f"a developer may have at most {SESSION_SLOTS} live listen sessions; end one first")


def list_sessions(developer_id: str, store: ListenStore | None = None) -> list[dict[str, Any]]:
    at = now_ms()
    found = (store or ListenStore()).sessions_of(developer_id)
    return [session.public() for session in sorted(found, key=lambda s: s.created_at_ms) if session.live(at)]


def end_session(developer_id: str, session_id: str, store: ListenStore | None = None) -> None:
    if not (store or ListenStore()).end(developer_id, session_id, now_ms()):
        raise _not_found(session_id)


def _handed_out(waiting: Waiting, payload: str, secret: str) -> dict[str, Any]:
    from events_core.delivery.signing import delivery_headers  # only the polling function signs

    body = payload.encode()
    # A whsec_ secret verifies as given both ways: the reference's HMAC keys on its text, the
    # Standard Webhooks libraries on the bytes its base64 encodes.
    standard = whsec_key(secret)
    headers = delivery_headers(
        event=waiting.event,
        timestamp=waiting.timestamp,
        delivery_id=waiting.delivery_id,
        body=body,
        secrets=[secret],
        standard_keys=None if standard is None else [standard],
    )
    headers.update(handout_trace(waiting.traceparent, waiting.tracestate).headers())
    if waiting.test:
        headers[TEST_HEADER] = "true"
    return {"deliveryId": waiting.delivery_id, "event": waiting.event, "headers": headers, "body": payload}


def wire_bytes(entry: dict[str, Any]) -> int:
    """An entry's bytes in the function's answer as Lambda returns it: the API's JSON, then that
    text JSON-escaped once more as the proxy answer's body (both with ASCII escapes, the worst case)."""
    return len(json.dumps(json.dumps(entry, separators=(",", ":")))) + 1


def _payloads(found: list[Waiting]) -> dict[str, str]:
    from events_core.records.payloads import PayloadStore

    inline = {w.delivery_id: w.payload for w in found if w.payload is not None}
    named = [w for w in found if w.payload is None and w.payload_ref]
    if named:
        stored = PayloadStore().get_many((w.developer_id, str(w.payload_ref)) for w in named)
        for waiting in named:
            text = stored.get((waiting.developer_id, str(waiting.payload_ref)))
            if text is not None:
                inline[waiting.delivery_id] = text.text
    return inline


def _lease_what_fits(
    found: list[Waiting], secret: str, store: ListenStore, at: int, budget_bytes: int
) -> list[dict[str, Any]]:
    """Lease, oldest first, only the deliveries whose entries fit in the answer; never one it cannot send."""
    texts = _payloads(found)
    handed: list[dict[str, Any]] = []
    used = ANSWER_ENVELOPE_BYTES
    for waiting in found:
        payload = texts.get(waiting.delivery_id)
        if payload is None:
            continue  # its payload expired with it: the item goes by TTL
        entry = _handed_out(waiting, payload, secret)
        size = wire_bytes(entry)
        if used + size > budget_bytes:
            break
        if store.lease(waiting, at, at + LEASE_MS):
            handed.append(entry)
            used += size
    return handed


def next_deliveries(
    developer_id: str,
    session_id: str,
    *,
    wait_seconds: float,
    limit: int,
    store: ListenStore | None = None,
    sleep: Callable[[float], None] = time.sleep,
    answer_bytes: int = MAX_ANSWER_BYTES,
) -> list[dict[str, Any]]:
    """What waits in the session, leased to this caller, as soon as there is any; [] after `wait`."""
    store = store or ListenStore()
    at = now_ms()
    session = live_session(developer_id, session_id, store, at)
    token = random_secrets.token_hex(8)
    if not store.take_poll(developer_id, session_id, token, at, at + int((wait_seconds + 10) * 1000)):
        retry = max(1, math.ceil((store.next_free_poll_ms(developer_id, at) - at) / 1000))
        raise RateLimited(
            f"at most {POLLS_PER_SESSION} polls of a session and {POLLS_PER_DEVELOPER} of a developer at once; "
            f"retry in {retry} s",
            retry_after=retry,
        )
    try:
        return _poll(session, store, wait_seconds, limit, sleep, answer_bytes)
    finally:
        store.release_poll(developer_id, session_id, token)


def _poll(
    session: Session,
    store: ListenStore,
    wait_seconds: float,
    limit: int,
    sleep: Callable[[float], None],
    answer_bytes: int,
) -> list[dict[str, Any]]:
    developer_id, session_id = session.developer_id, session.session_id
    at = now_ms()
    if session.last_poll_ms is None or at - session.last_poll_ms >= RENEW_EVERY_MS:
        store.renew(session, at, at + SESSION_IDLE_MS)
    deadline = time.monotonic() + max(0.0, wait_seconds)
    secret: str | None = None
    while True:
        at = now_ms()
        found = store.ready(developer_id, session_id, at, limit)
        if not found and session.format < 2:
            found = store.ready_format_1(developer_id, session_id, at, limit)
        if found:
            if secret is None:
                secret = secret_box(settings()).open(session.sealed_secret, developer_id, session_id)
            leased = _lease_what_fits(found, secret, store, at, answer_bytes)
            if leased:
                return leased
        if time.monotonic() + POLL_EVERY_SECONDS > deadline:
            return []
        sleep(POLL_EVERY_SECONDS)


def record_answer(
    developer_id: str, session_id: str, delivery_id: str, body: Any, store: ListenStore | None = None
) -> None:
    """The receiver's answer to a forwarded delivery, as that delivery's attempt. A second report of
    the same delivery changes nothing (the CLI re-sends reports it is not sure arrived)."""
    answered = parse_answer(body)
    store = store or ListenStore()
    if not is_delivery_id(delivery_id):
        raise NotFound(f"delivery {delivery_id[:64]!r} not found")
    # The session must be this developer's; an expired one may still report what it forwarded.
    if store.session(developer_id, session_id) is None:
        raise _not_found(session_id)
    attempt = Attempt(
        attempt=1,
        attempted_at=iso_ms(now_ms()),
        status=answered.status,
        latency_ms=answered.latency_ms,
        error=answered.error,
        response_excerpt=answered.body,
        trigger="listen",
    )
    if store.complete(developer_id, session_id, delivery_id, attempt):
        _settled(developer_id, session_id, delivery_id)
        return
    from events_core.records.store import DeliveryStore

    if DeliveryStore().get(developer_id, session_id, delivery_id) is None:
        raise NotFound(f"delivery {delivery_id[:64]!r} not found")


def _settled(developer_id: str, session_id: str, delivery_id: str) -> None:
    """A listen delivery settled (answered): with retention payloadDays 0 it is counted off the
    payload it names (PayloadStore.release), the last one deleting it."""
    from events_core.lifecycle.retention import retention_of
    from events_core.records.payloads import PayloadStore
    from events_core.records.store import DeliveryStore

    if retention_of(developer_id).payload_days != 0:
        return
    record = DeliveryStore().get(developer_id, session_id, delivery_id)
    if record is not None and record.payload_ref:
        PayloadStore().release(developer_id, record.payload_ref)


def waiting_for(
    session: Session,
    event_id: str,
    event: str,
    timestamp: str,
    delivery_id: str,
    *,
    at_ms: int,
    test: bool = False,
    trace: TraceContext | None = None,
    payload_ref: str | None = None,
) -> tuple[Waiting, DeliveryRecord]:
    """A delivery waiting in `session` and its history record, both naming the event's payload
    (stored once, by the caller, in the payloads table under (developer, event id), or under
    `payload_ref` when a replay names what an earlier delivery stored)."""
    payload_ref = payload_ref or event_id
    expires = at_ms // 1000 + WAITING_TTL_SECONDS
    trace = trace or new_trace()  # a trigger's test event starts a trace of its own
    waiting = Waiting(
        developer_id=session.developer_id,
        session_id=session.session_id,
        delivery_id=delivery_id,
        event_id=event_id,
        event=event,
        timestamp=timestamp,
        payload=None,
        payload_ref=payload_ref,
        expires_at=expires,
        test=test,
        ready_at_ms=at_ms,
        traceparent=trace.traceparent,
        tracestate=trace.state,
    )
    record = DeliveryRecord(
        developer_id=session.developer_id,
        webhook_id=session.session_id,
        delivery_id=delivery_id,
        event_id=event_id,
        event=event,
        status=DeliveryStatus.PENDING,
        created_at=timestamp,
        payload=None,
        payload_ref=payload_ref,
        test=test,
        expires_at=expires,
        traceparent=trace.traceparent,
        tracestate=trace.state,
    )
    return waiting, record


def store_payload(developer_id: str, event_id: str, payload: str, at_ms: int) -> None:
    """The event's one copy for every session that takes it (kept as long as their records)."""
    from events_core.records.payloads import PayloadStore

    PayloadStore().keep(developer_id, event_id, payload, expires_at=at_ms // 1000 + WAITING_TTL_SECONDS)


def enqueue(store: ListenStore, waiting: Waiting, record: DeliveryRecord) -> bool:
    """Put the delivery in its session with its record, and keep the session's history bounded."""
    if not store.enqueue(waiting, record):
        return False
    store.keep_in_ring(waiting.developer_id, waiting.session_id, waiting.delivery_id, expires_at=waiting.expires_at)
    return True


def trigger(developer_id: str, body: Any, store: ListenStore | None = None) -> dict[str, Any]:
    """A test event (the type's example, or the data given) into every live session taking its
    type: one post of the post budget per session, marked exactly like a webhook's test send."""
    from events_core.budgets import TRIGGER_BUDGET_KEY, PostBudgets
    from events_core.delivery.probe import test_payload_text

    request = parse_trigger(body)
    data = examples.data_for_trigger(request.event, request.data)
    store = store or ListenStore()
    config = settings()
    at = now_ms()
    timestamp = iso_ms(at)
    sessions = [s for s in store.sessions_of(developer_id, consistent=True) if s.live(at) and s.takes(request.event)]
    queued: list[dict[str, Any]] = []
    if not sessions:
        return {"event": request.event, "queued": queued}
    granted = PostBudgets(config).take(developer_id, TRIGGER_BUDGET_KEY, len(sessions))
    payload = test_payload_text(request.event, timestamp, jsonsafe.dumps(data))
    event_id = f"test_{new_delivery_id(at)[4:]}"
    store_payload(developer_id, event_id, payload, at)
    for session in sessions[:granted]:
        delivery_id = new_delivery_id(at)
        waiting, record = waiting_for(session, event_id, request.event, timestamp, delivery_id, at_ms=at, test=True)
        if enqueue(store, waiting, record):
            queued.append({"sessionId": session.session_id, "deliveryId": delivery_id})
    return {"event": request.event, "queued": queued}


def history(developer_id: str, session_id: str, store: ListenStore | None = None) -> dict[str, Any]:
    """The session's kept deliveries (its last LISTEN_KEPT, for a day), newest first, from the
    records the fan-out and triggers write. They live under the caller's own partition, so another
    developer's session id finds nothing: 404, exactly like an unknown one. A session that has
    ended still shows its history while its records last."""
    from events_core.records.store import DeliveryStore

    if slot_of(session_id) is None:
        raise _not_found(session_id)
    at = now_ms()
    found = DeliveryStore().page(developer_id, session_id, limit=LISTEN_KEPT).records
    records = [record for record in found if _kept_at(record, at)]
    if not records and (store or ListenStore()).session(developer_id, session_id) is None:
        raise _not_found(session_id)
    return {"sessionId": session_id, "deliveries": [_kept(record.public()) for record in records]}


def _kept_at(record: DeliveryRecord, at_ms: int) -> bool:
    """Still within its day: DynamoDB's TTL deletes an item up to days after its expiresAt."""
    return not record.expires_at or record.expires_at * 1000 > at_ms


_KEPT_FIELDS = (
    *("deliveryId", "eventId", "event", "status", "attemptCount", "createdAt", "lastAttemptAt"),
    *("lastStatus", "lastError", "test", "expunged", "erased"),
)


def _kept(public: dict[str, Any]) -> dict[str, Any]:
    """A record as the history shows it: the session in place of a webhook."""
    return {"sessionId": public["webhookId"], **{name: public[name] for name in _KEPT_FIELDS if name in public}}


def replay(developer_id: str, session_id: str, delivery_id: str, store: ListenStore | None = None) -> dict[str, Any]:
    """One of the session's kept deliveries, waiting in it again as a new delivery (fresh id and
    timestamp) that names the same stored payload: never a copy of it. One post of the post budget,
    like a trigger (429 when it is spent). 409 payload_expired when the payload is gone (its day
    has passed, or it was expunged)."""
    from events_core.budgets import TRIGGER_BUDGET_KEY, PostBudgets
    from events_core.records.payloads import PayloadStore
    from events_core.records.store import DeliveryStore

    store = store or ListenStore()
    at = now_ms()
    session = live_session(developer_id, session_id, store, at)
    record = DeliveryStore().get(developer_id, session_id, delivery_id) if is_delivery_id(delivery_id) else None
    if record is None:
        raise NotFound(f"delivery {delivery_id[:64]!r} not found")
    ref = record.payload_ref
    stored = PayloadStore().get(developer_id, ref) if ref and not record.expunged and _kept_at(record, at) else None
    if stored is None or (stored.expires_at and stored.expires_at * 1000 <= at):
        raise PayloadExpired("this delivery's payload is no longer stored; it cannot be replayed")
    if PostBudgets(settings()).take(developer_id, TRIGGER_BUDGET_KEY, 1) < 1:
        raise RateLimited("the post budget for listen sessions is spent; retry in 1 s", retry_after=1)
    replayed = new_delivery_id(at)
    PayloadStore().add_refs(developer_id, str(ref), 1, counted_only=True)  # one more delivery names it
    waiting, kept = waiting_for(
        session, record.event_id, record.event, iso_ms(at), replayed, at_ms=at, test=record.test, payload_ref=ref
    )
    enqueue(store, waiting, kept)
    return {"sessionId": session_id, "deliveryId": replayed, "replayOf": delivery_id}
