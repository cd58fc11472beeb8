"""What one delivery batch adds to its webhooks' health figures, summed in memory per
(webhook, minute) so the batch writes one update per pair, never one per delivery.

Counted per outcome, named as the API names delivery statuses:
- an attempt made (`attempts`) ends `succeeded`, `retrying`, `dead` (out of attempts, or its
  webhook disabled) or `held` (failed while the circuit is open); its receiver latency is counted,
  and for a success the event-to-delivered latency (the event's time to the answer);
  `firstAttemptSucceeded` counts successes on attempt 1;
- a post not attempted counts `throttled` (sent back to its rate-limit slot), `held` (waiting behind
  an open circuit) or `dead` (its webhook disabled, its payload gone), and no attempt.
An attempt whose next step could not be queued comes back and is counted when it is settled.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from events_core.clock import now_ms, parse_iso
from events_core.stats.histogram import bucket_of

MINUTE_MS = 60_000
STATUSES = ("succeeded", "retrying", "dead", "throttled", "held")
COUNTS = ("attempts", *STATUSES, "firstAttemptSucceeded")
_ATTEMPT_STATUS = {"delivered": "succeeded", "retry_scheduled": "retrying", "dead": "dead", "held": "held"}
_UNATTEMPTED_STATUS = {"throttled": "throttled", "held": "held", "dead": "dead"}


@dataclass
class Figures:
    """Counts and histograms of one (webhook, period): added up, never overwritten."""

    counts: dict[str, int] = field(default_factory=dict)
    receiver: dict[int, int] = field(default_factory=dict)  # histogram bucket → attempts
    delivered: dict[int, int] = field(default_factory=dict)  # event-to-delivered, successes only

    def count(self, name: str, by: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + by

    def add(self, other: "Figures") -> None:
        for name, value in other.counts.items():
            self.count(name, value)
        for mine, theirs in ((self.receiver, other.receiver), (self.delivered, other.delivered)):
            for bucket, value in theirs.items():
                mine[bucket] = mine.get(bucket, 0) + value

    def empty(self) -> bool:
        return not (any(self.counts.values()) or self.receiver or self.delivered)


Key = tuple[str, str, int]  # developer, webhook, epoch minute


def minute_of(at_ms: int) -> int:
    return at_ms // MINUTE_MS


def tally(attempted: Iterable[Any], verdicts: Mapping[str, Any], due: Iterable[tuple[Any, Any]]) -> dict[Key, Figures]:
    """The batch's figures per (developer, webhook, minute), from the delivery worker's own view of
    it: the attempts made (`message`, `result`, `at_ms`, `incoming`) and every message's verdict."""
    found: dict[Key, Figures] = {}

    def figures(message: Any, at_ms: int) -> Figures:
        return found.setdefault((message.developer_id, message.webhook_id, minute_of(at_ms)), Figures())

    attempted_ids = set()
    for attempt in attempted:
        attempted_ids.add(attempt.incoming.message_id)
        verdict = verdicts.get(attempt.incoming.message_id)
        status = _ATTEMPT_STATUS.get(verdict.outcome.value) if verdict is not None else None
        if status is None:  # not settled (its next step not queued): it comes back and is counted then
            continue
        figure = figures(attempt.message, attempt.at_ms)
        figure.count("attempts")
        figure.count(status)
        latency = bucket_of(attempt.result.latency_ms)
        figure.receiver[latency] = figure.receiver.get(latency, 0) + 1
        if status == "succeeded":
            if attempt.message.attempt == 1:
                figure.count("firstAttemptSucceeded")
            waited = _since_event(attempt.message.timestamp, attempt.at_ms)
            if waited is not None:
                bucket = bucket_of(waited)
                figure.delivered[bucket] = figure.delivered.get(bucket, 0) + 1
    for item, message in due:
        if item.message_id in attempted_ids:
            continue
        verdict = verdicts.get(item.message_id)
        status = _UNATTEMPTED_STATUS.get(verdict.outcome.value) if verdict is not None else None
        if status is not None:
            figures(message, now_ms()).count(status)
    return found


def _since_event(timestamp: str, at_ms: int) -> int | None:
    try:
        return at_ms - parse_iso(timestamp)
    except (ValueError, OverflowError, OSError, TypeError):
        return None
