"""A listen session and a delivery waiting in it, as stored and as answered.

Table (ListenTable): pk + sk, TTL on expiresAt.
- A session lives in one of a developer's SESSION_SLOTS slots: pk = developer, sk = "session#<slot>".
  Taking a slot is one conditional put (free, or its session expired), so at most SESSION_SLOTS
  live sessions hold under concurrent creates with no counter; the slot is the session id's 4th
  character, so a session is read by key.
- Each slot also puts a marker per event type it takes in the webhooks table's sparse index
  (webhookId "~listen#<slot>#<type>"), so the fan-out's one Query per event shows whether anyone
  listens: a developer who does not costs no read for sessions.
- A delivery waiting to be forwarded: pk = "developer#session", sk = delivery id (time-ordered), with
  lease fields and `readyAt` (ms: when it may be handed out, its lease's end once leased). A poll
  queries the index ReadyByTime (pk, readyAt ≤ now), so leased items are never read until their
  lease lapses. It names its payload (`payloadRef`, the payloads table: one copy per event however
  many sessions take it) and is deleted once the CLI reports its answer. Items written before
  (format 1: `payload` inline, no `readyAt`) are still read, by a session of format 1.
- Poll slots: pk = developer, sk = "poll#s#<session>#<n>" (POLLS_PER_SESSION) and "poll#d#<n>"
  (POLLS_PER_DEVELOPER), each held by one running poll until it ends (or lapses, after a crash).
- The session's ring of its last LISTEN_KEPT delivery records: pk = developer, sk = "ring#<session>".
"""

import re
import secrets
from dataclasses import dataclass
from typing import Any

from events_core import event_patterns
from events_core.clock import iso_ms
from events_core.webhooks.filters import from_stored

SESSION_SLOTS = 5
SESSION_IDLE_MS = 2 * 3600 * 1000  # a session expires after 2 h without a poll
SESSION_ID = re.compile(r"^ls_[0-9][0-9a-f]{20}$")
SESSION_PREFIX = "session#"
FORMAT = 2  # sessions and waiting deliveries written now; 1: before the ReadyByTime index
READY_INDEX = "ReadyByTime"
POLLS_PER_SESSION = 2
POLLS_PER_DEVELOPER = 5
POLL_PREFIX = "poll#"
LISTEN_KEPT = 100  # a session keeps the delivery records of its last 100 deliveries (24 h at most)


def session_id_for(slot: int) -> str:
    return f"ls_{slot}{secrets.token_hex(10)}"


def slot_of(session_id: str) -> int | None:
    """The slot a well-formed session id names; None for anything this API did not hand out."""
    if not SESSION_ID.match(session_id) or int(session_id[3]) >= SESSION_SLOTS:
        return None
    return int(session_id[3])


MARKER_PREFIX = "~listen#"  # sorts after the webhooks' counter ("~count"): never listed as a webhook


def marker_id(slot: int, event: str) -> str:
    """A session slot's entry for one event type in the webhooks' sparse index (see ListenStore)."""
    return f"{MARKER_PREFIX}{slot}#{event}"


def is_marker(webhook_id: str) -> bool:
    return webhook_id.startswith(MARKER_PREFIX)


def session_sk(slot: int) -> str:
    return f"{SESSION_PREFIX}{slot}"


def waiting_pk(developer_id: str, session_id: str) -> str:
    return f"{developer_id}#{session_id}"


@dataclass
class Session:
    developer_id: str
    session_id: str
    events: tuple[str, ...]  # types and patterns ("workflow.*", "*"); empty: every event type
    filter_json: str
    sealed_secret: str
    created_at_ms: int
    expires_at_ms: int
    last_poll_ms: int | None = None
    format: int = FORMAT

    @property
    def slot(self) -> int:
        return int(self.session_id[3])

    def live(self, now_ms: int) -> bool:
        return self.expires_at_ms > now_ms

    def takes(self, event_type: str) -> bool:
        return not self.events or any(event_patterns.matches(taken, event_type) for taken in self.events)

    def public(self) -> dict[str, Any]:
        return {
            "sessionId": self.session_id,
            "events": list(self.events),
            "filter": from_stored(self.filter_json),
            "createdAt": iso_ms(self.created_at_ms),
            "expiresAt": iso_ms(self.expires_at_ms),
            "lastPollAt": iso_ms(self.last_poll_ms) if self.last_poll_ms else None,
        }

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": self.developer_id,
            "sk": session_sk(self.slot),
            "sessionId": self.session_id,
            "events": list(self.events),
            "filterJson": self.filter_json,
            "secretEnc": self.sealed_secret,
            "createdAt": self.created_at_ms,
            "expiresAtMs": self.expires_at_ms,
            "expiresAt": self.expires_at_ms // 1000 + 60,  # TTL: moto never expires, so reads check expiresAtMs
            "format": self.format,
        }
        if self.last_poll_ms is not None:
            item["lastPollAt"] = self.last_poll_ms
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> "Session":
        last_poll = item.get("lastPollAt")
        return cls(
            developer_id=item["pk"],
            session_id=item["sessionId"],
            events=tuple(item.get("events") or ()),
            filter_json=item.get("filterJson") or "{}",
            sealed_secret=item["secretEnc"],
            created_at_ms=int(item["createdAt"]),
            expires_at_ms=int(item["expiresAtMs"]),
            last_poll_ms=None if last_poll is None else int(last_poll),
            format=int(item.get("format", 1)),
        )


@dataclass
class Waiting:
    """A delivery waiting in a session: what names the exact body a webhook would get, and its lease."""

    developer_id: str
    session_id: str
    delivery_id: str
    event_id: str
    event: str
    timestamp: str
    payload: str | None  # inline: format 1 only
    expires_at: int
    lease_until_ms: int | None = None
    handed_out: int = 0
    payload_ref: str | None = None  # the payloads table's event id (this developer's)
    test: bool = False  # a trigger: marked like a test send (X-Webhook-Test: true)
    ready_at_ms: int = 0
    traceparent: str | None = None  # the event's trace (its fan-out span); each hand-out is a span under it
    tracestate: str | None = None

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": waiting_pk(self.developer_id, self.session_id),
            "sk": self.delivery_id,
            "developerId": self.developer_id,
            "sessionId": self.session_id,
            "eventId": self.event_id,
            "event": self.event,
            "timestamp": self.timestamp,
            "handedOut": self.handed_out,
            "expiresAt": self.expires_at,
            "readyAt": self.lease_until_ms if self.lease_until_ms is not None else self.ready_at_ms,
            "format": FORMAT,
        }
        if self.payload_ref is not None:
            item["payloadRef"] = self.payload_ref
        else:
            item["payload"] = self.payload
        if self.test:
            item["test"] = True
        if self.lease_until_ms is not None:
            item["leaseUntil"] = self.lease_until_ms
        if self.traceparent:
            item["traceparent"] = self.traceparent
        if self.tracestate:
            item["tracestate"] = self.tracestate
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> "Waiting":
        lease = item.get("leaseUntil")
        return cls(
            developer_id=item["developerId"],
            session_id=item["sessionId"],
            delivery_id=item["sk"],
            event_id=item.get("eventId", ""),
            event=item["event"],
            timestamp=item["timestamp"],
            payload=item.get("payload"),
            expires_at=int(item.get("expiresAt", 0)),
            lease_until_ms=None if lease is None else int(lease),
            handed_out=int(item.get("handedOut", 0)),
            payload_ref=item.get("payloadRef"),
            test=bool(item.get("test", False)),
            ready_at_ms=int(item.get("readyAt", 0)),
            traceparent=item.get("traceparent"),
            tracestate=item.get("tracestate"),
        )
