"""The fan-out's hook for listen sessions: an event also waits in each live session of its
developer that takes its type and whose filter matches. Whether anyone listens is read for free: a
session's markers ride in the webhooks' sparse index the fan-out already queries. Only then are the
developer's sessions (at most five) read, one Query kept FanoutCacheSeconds; no queue per session."""

import threading
import time

from events_core import aws
from events_core.clock import now_ms
from events_core.config import Settings
from events_core.delivery import queues
from events_core.delivery.envelope import PlatformEvent
from events_core.listen.model import Session, is_marker
from events_core.listen.repository import ListenStore
from events_core.listen.service import enqueue, store_payload, waiting_for
from events_core.observability import logger
from events_core.records.message import delivery_id
from events_core.records.payloads import PayloadStore
from events_core.webhooks.filters import PAIR_BUDGET, Budget, FilterBudgetExceeded, compiled

_MAX_CACHED = 10_000


class SessionCache:
    def __init__(self, seconds: float, store: ListenStore | None = None):
        self.seconds = seconds
        self.store = store or ListenStore()
        self._entries: dict[str, tuple[float, list[Session]]] = {}
        self._lock = threading.Lock()

    def of(self, developer_id: str) -> list[Session]:
        now = time.monotonic()
        if self.seconds > 0:
            with self._lock:
                cached = self._entries.get(developer_id)
            if cached and cached[0] > now:
                return cached[1]
        found = self.store.sessions_of(developer_id)
        if self.seconds > 0:
            with self._lock:
                if len(self._entries) >= _MAX_CACHED:
                    self._entries.clear()
                self._entries[developer_id] = (now + self.seconds, found)
        return found


def split_markers(candidates: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], bool]:
    """The webhooks among the index's entries, and whether a listen session's marker was there."""
    webhooks = [candidate for candidate in candidates if not is_marker(candidate[0])]
    return webhooks, len(webhooks) != len(candidates)


@aws.per_environment
def _cache(config: Settings) -> SessionCache:
    """The function's cache (one per settings, so tests get fresh ones)."""
    return SessionCache(config.fanout_cache_seconds)


def _count_in(developer_id: str, event_id: str, config: Settings, *, held: int, named: int) -> None:
    """The listen deliveries naming the stored payload join its count (PayloadStore.release), in
    place of the one the fan-out held for them; with retention payloadDays 0, a count this leaves
    at none (every webhook delivery settled already, no session took it) deletes the payload."""
    change = named - held
    if not change:
        return
    from events_core.lifecycle.retention import retention_cache  # only when sessions listen

    payloads = PayloadStore()
    if change < 0 and retention_cache(config).of(developer_id).payload_days == 0:
        payloads.release(developer_id, event_id, -change)
    else:
        payloads.add_refs(developer_id, event_id, change)


def to_sessions(
    event: PlatformEvent,
    body: str,
    config: Settings,
    cache: SessionCache | None = None,
    *,
    payload_stored: bool = False,
) -> int:
    """Put `event` in the matching live sessions of its developer; how many took it. A re-run of
    the same event finds it already there and adds nothing. The payload is stored once for all of
    them (`payload_stored`: the webhooks' copy, kept longer, is already there, with one count held
    for these deliveries until they are counted in)."""
    at = now_ms()
    cache = cache or _cache(config)
    held = 1 if payload_stored else 0
    matched = taken = 0
    try:
        for session in cache.of(event.developer_id):
            if not (session.live(at) and session.takes(event.event_type)):
                continue
            try:
                if not compiled(session.filter_json).matches(event.data, Budget(PAIR_BUDGET)):
                    continue
            except FilterBudgetExceeded:
                reason = f"the filter of listen session {session.session_id} exceeded its matching budget"
                queues.dead_letter(
                    config.events_dlq_url, body, reason, webhookId=session.session_id, developerId=event.developer_id
                )
                continue
            if not payload_stored:
                store_payload(event.developer_id, event.event_id, event.payload, at)
                payload_stored = True
            waiting, record = waiting_for(
                session,
                event.event_id,
                event.event_type,
                event.timestamp,
                delivery_id(event.event_id, session.session_id, event.timestamp_ms),
                at_ms=at,
                trace=event.trace,
            )
            matched += 1  # counted whether or not a re-run finds it there: a count may be high, never low
            if enqueue(cache.store, waiting, record):
                taken += 1
    finally:
        _count_in(event.developer_id, event.event_id, config, held=held, named=matched)
    logger.debug("event put in listen sessions", extra={"event_id": event.event_id, "sessions": taken})
    return taken
