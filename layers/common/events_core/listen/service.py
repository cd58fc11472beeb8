"""Listen sessions behind the API, each scoped to the calling developer: open, list, poll (long),
answer, end; and test triggers into a developer's sessions.

Another developer's session id answers exactly like an unknown one (404)."""

import secrets as random_secrets
import time
from collections.abc import Callable
from typing import Any

from events_core import jsonsafe
from events_core.clock import iso_ms, now_ms
from events_core.config import Settings, settings
from events_core.delivery.envelope import payload_text
from events_core.errors import LimitExceeded, NotFound
from events_core.listen import examples
from events_core.listen.model import SESSION_IDLE_MS, SESSION_SLOTS, Session, Waiting, session_id_for
from events_core.listen.repository import ListenStore
from events_core.listen.requests import parse_answer, parse_opening, parse_trigger
from events_core.records.message import is_delivery_id, new_delivery_id
from events_core.records.model import Attempt, DeliveryRecord, DeliveryStatus
from events_core.secrets import secret_box
from events_core.tracing import TraceContext, handout_trace, new_trace
from events_core.webhooks.filters import to_stored

LEASE_MS = 30_000  # a delivery handed out and not answered comes back after this
POLL_EVERY_SECONDS = 0.3
RENEW_EVERY_MS = 60_000  # a poll renews the session's 2 h at most this often (one write)
WAITING_TTL_SECONDS = 86_400


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
    secret = random_secrets.token_urlsafe(32)
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


def _handed_out(session: Session, waiting: Waiting, secret: str) -> dict[str, Any]:
    from events_core.delivery.signing import delivery_headers  # only the polling function signs

    body = waiting.payload.encode()
    headers = delivery_headers(
        event=waiting.event, timestamp=waiting.timestamp, delivery_id=waiting.delivery_id, body=body, secrets=[secret]
    )
    headers.update(handout_trace(waiting.traceparent, waiting.tracestate).headers())
    return {"deliveryId": waiting.delivery_id, "event": waiting.event, "headers": headers, "body": waiting.payload}


def next_deliveries(
    developer_id: str,
    session_id: str,
    *,
    wait_seconds: float,
    limit: int,
    store: ListenStore | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[dict[str, Any]]:
    """What waits in the session, leased to this caller, as soon as there is any; [] after `wait`."""
    store = store or ListenStore()
    at = now_ms()
    session = live_session(developer_id, session_id, store, at)
    if session.last_poll_ms is None or at - session.last_poll_ms >= RENEW_EVERY_MS:
        store.renew(session, at, at + SESSION_IDLE_MS)
    deadline = time.monotonic() + max(0.0, wait_seconds)
    while True:
        at = now_ms()
        leased = [w for w in store.ready(developer_id, session_id, at, limit) if store.lease(w, at, at + LEASE_MS)]
        if leased:
            secret = secret_box(settings()).open(session.sealed_secret, developer_id, session_id)
            return [_handed_out(session, waiting, secret) for waiting in leased]
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
        return
    from events_core.records.store import DeliveryStore

    if DeliveryStore().get(developer_id, session_id, delivery_id) is None:
        raise NotFound(f"delivery {delivery_id[:64]!r} not found")


def waiting_for(
    session: Session,
    event_id: str,
    event: str,
    timestamp: str,
    payload: str,
    delivery_id: str,
    *,
    config: Settings,
    at_ms: int,
    test: bool = False,
    trace: TraceContext | None = None,
) -> tuple[Waiting, DeliveryRecord]:
    trace = trace or new_trace()  # a trigger's test event starts a trace of its own
    waiting = Waiting(
        developer_id=session.developer_id,
        session_id=session.session_id,
        delivery_id=delivery_id,
        event_id=event_id,
        event=event,
        timestamp=timestamp,
        payload=payload,
        expires_at=at_ms // 1000 + WAITING_TTL_SECONDS,
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
        payload=payload,
        test=test,
        expires_at=config.expires_at(at_ms),
        traceparent=trace.traceparent,
        tracestate=trace.state,
    )
    return waiting, record


def trigger(developer_id: str, body: Any, store: ListenStore | None = None) -> dict[str, Any]:
    """A test event (the type's example, or the data given) into every live session taking its type."""
    request = parse_trigger(body)
    data = examples.data_for_trigger(request.event, request.data)
    store = store or ListenStore()
    config = settings()
    at = now_ms()
    timestamp = iso_ms(at)
    payload = payload_text(request.event, timestamp, jsonsafe.dumps(data))
    queued = []
    for session in store.sessions_of(developer_id, consistent=True):
        if session.live(at) and session.takes(request.event):
            delivery_id = new_delivery_id(at)
            waiting, record = waiting_for(
                session,
                f"test_{delivery_id[4:]}",
                request.event,
                timestamp,
                payload,
                delivery_id,
                config=config,
                at_ms=at,
                test=True,
            )
            if store.enqueue(waiting, record):
                queued.append({"sessionId": session.session_id, "deliveryId": delivery_id})
    return {"event": request.event, "queued": queued}
