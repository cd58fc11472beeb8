"""Retention a developer chooses (settings `retention`), applied where records are read and by the
sweep (events_core.lifecycle.sweep) where they are kept.

Reads never answer what is past its retention, whether or not the sweep or DynamoDB's TTL has
removed it yet: a record older than recordDays is not there, a payload older than payloadDays (or,
with payloadDays 0, of a delivery that has settled: delivered, dead or failed) is null, and
receivers' answers older than responseDays are empty."""

import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from events_core import aws
from events_core.config import Settings, settings
from events_core.errors import Conflict
from events_core.lifecycle.settings import SettingsStore, document
from events_core.records.model import Attempt, DeliveryRecord, DeliveryStatus

DAY_MS = 86_400_000
SETTLED = (DeliveryStatus.SUCCEEDED, DeliveryStatus.DEAD, DeliveryStatus.FAILED)  # held is not settled


class PayloadNotKept(Conflict):
    """The developer's retention removed the payload (payloadDays), so it cannot be sent again."""

    code = "payload_retention"


class PayloadExpunged(Conflict):
    """The developer expunged this delivery's payload."""

    code = "payload_expunged"


@dataclass(frozen=True)
class Retention:
    payload_days: int
    response_days: int
    record_days: int
    ceiling_days: int  # LogRetentionDays: what every record is written to live (its expiresAt)

    @classmethod
    def of(cls, doc: dict[str, Any], config: Settings) -> "Retention":
        kept = doc["retention"]
        days = config.log_retention_days
        return cls(int(kept["payloadDays"]), int(kept["responseDays"]), int(kept["recordDays"]), days)

    @classmethod
    def default(cls, config: Settings) -> "Retention":
        days = config.log_retention_days
        return cls(days, days, days, days)


def retention_of(developer_id: str, store: SettingsStore | None = None, config: Settings | None = None) -> Retention:
    """One eventually consistent GetItem: a change is seen by reads within a second."""
    config = config or settings()
    stored, _ = (store or SettingsStore()).stored(developer_id, consistent=False)
    return Retention.of(document(stored, config), config)


_MAX_CACHED = 10_000


class RetentionCache:
    """Each developer's retention as the pipeline needs it (does their payload go when its last
    delivery settles?), kept `seconds` (FanoutCacheSeconds) per execution environment like the
    fan-out's subscriptions: one eventually consistent GetItem per developer per few seconds, not
    one per delivery. A change takes at most that long to reach the pipeline; reads apply it at once."""

    def __init__(self, config: Settings, seconds: float, store: SettingsStore | None = None):
        self.config = config
        self.seconds = seconds
        self.store = store
        self._entries: dict[str, tuple[float, Retention]] = {}
        self._lock = threading.Lock()

    def of(self, developer_id: str) -> Retention:
        now = time.monotonic()
        with self._lock:
            cached = self._entries.get(developer_id)
        if cached and cached[0] > now:
            return cached[1]
        found = retention_of(developer_id, self.store, self.config)
        with self._lock:
            if len(self._entries) >= _MAX_CACHED:
                self._entries.clear()
            self._entries[developer_id] = (now + self.seconds, found)
        return found


@aws.per_environment
def retention_cache(config: Settings) -> RetentionCache:
    """The function's cache (one per settings, so tests get fresh ones)."""
    return RetentionCache(config, config.fanout_cache_seconds)


def age_ms(record: DeliveryRecord, kept: Retention, now_ms: int) -> int:
    """How long ago the record was last written: every write sets its expiresAt LogRetentionDays
    ahead, so a record is as old as that says (an event's own time may be months older, when it
    was published late or recovered). With the default retention a record reads as gone exactly
    when its TTL has passed, before DynamoDB gets to deleting it."""
    if not record.expires_at:
        return 0  # written without an expiry (none of this code's): kept, as DynamoDB keeps it
    return now_ms - (record.expires_at - kept.ceiling_days * 86400) * 1000


def payload_gone(record: DeliveryRecord, retention: Retention, now_ms: int) -> bool:
    if retention.payload_days == 0:
        return record.status in SETTLED
    return age_ms(record, retention, now_ms) > retention.payload_days * DAY_MS


def applied(record: DeliveryRecord, retention: Retention, now_ms: int) -> DeliveryRecord | None:
    """The record as its retention lets it be read; None when the record itself is past it."""
    age = age_ms(record, retention, now_ms)
    if age > retention.record_days * DAY_MS:
        return None
    if payload_gone(record, retention, now_ms):
        record = replace(record, payload=None, payload_ref=None)
    if age > retention.response_days * DAY_MS:
        record = replace(record, attempts=[_without_answer(a) for a in record.attempts])
    return record


def _without_answer(attempt: Attempt) -> Attempt:
    return replace(attempt, response_excerpt="")


def sendable(record: DeliveryRecord, retention: Retention, now_ms: int) -> None:
    """Why a redeliver or recover cannot send this record again, as a 409 with its own code."""
    if record.expunged:
        raise PayloadExpunged("this delivery's payload was expunged; it cannot be sent again")
    if payload_gone(record, retention, now_ms):
        raise PayloadNotKept(
            "this delivery's payload is past the retention you chose (settings retention.payloadDays"
            f" = {retention.payload_days}); it cannot be sent again"
        )
