"""What travels on the delivery queue: one message per (event, webhook) and attempt. It carries
the exact payload to post (inline, or the key of the event's stored payload when it is large:
events_core.records.payloads), never a secret; the attempt it is for; and why it was sent.

Versions (messages wait days in delay hops and in the dead-letter queue, so every version a
deployed stack ever wrote is read):
- 1 (no `version` field): the payload inline, always.
- 2: `version: 2`; the payload inline (`payload`) or stored once (`payload_ref`: the event id
  under which the payloads table keeps it, in the developer's partition), never both.
  Since tracing, a message may also carry `traceparent` (and `tracestate`): the W3C context of
  its event's fan-out, which every attempt continues with a span of its own. One without it (sent
  before) still reads: its next attempt starts a trace, and the messages after carry that one.
  Since ordered delivery, a message may carry `sequence` (the producer's detail.sequence) and,
  once its ordered webhook registered it in its key's queue, `ordered_at_ms` (when it did: its
  window counts from then). Messages without them read as before (unordered, or not registered yet).
"""

import hashlib
import json
import re
import secrets
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from events_core.clock import parse_iso
from events_core.errors import BadRequest
from events_core.tracing import TraceContext, parse

DELIVERY_ID = re.compile(r"^msg_[0-9a-f]{32}$")
MESSAGE_VERSION = 2


class Trigger(StrEnum):
    FIRST = "first"  # fan-out of a platform event
    RETRY = "retry"  # the back-off schedule
    REDELIVER = "redeliver"  # POST …/deliveries/{id}/redeliver
    RECOVER = "recover"  # POST …/recover
    REDRIVE = "redrive"  # an operator moved it back from the dead-letter queue
    PROBE = "probe"  # the one post that tests a webhook whose circuit is open
    RELEASE = "release"  # held while the circuit was open, released when a probe got through


class MalformedMessage(ValueError):
    pass


LAST_ENCODABLE_MS = 2**32 * 1000 - 1  # a delivery id encodes the second in 8 hex digits (until 2106)


def window_bound(name: str, value: Any) -> int:
    """A window's bound given by a client (`since`, `until`), in epoch milliseconds: an ISO-8601
    time; before 1970 means from the start, past what a delivery id encodes means until the end."""
    if not isinstance(value, str) or len(value) > 64:
        raise BadRequest(f"{name}: must be an ISO-8601 time, like 2026-04-12T08:00:00.000Z", field=name)
    try:
        found = parse_iso(value)
    except (ValueError, OverflowError, OSError):
        raise BadRequest(f"{name}: must be an ISO-8601 time, like 2026-04-12T08:00:00.000Z", field=name) from None
    return min(max(found, 0), LAST_ENCODABLE_MS)


def _time_prefix(epoch_ms: int) -> str:
    seconds, millis = divmod(epoch_ms, 1000)
    return f"{seconds:08x}{millis:03x}"


def delivery_id(event_id: str, webhook_id: str, event_ms: int) -> str:
    """Stable for one (event, webhook) — the same across retries and re-runs of the fan-out — and
    ordered by the event's time, so a webhook's deliveries list newest first by key."""
    digest = hashlib.sha256(f"{event_id}\n{webhook_id}".encode()).hexdigest()
    return f"msg_{_time_prefix(event_ms)}{digest[:21]}"


def new_delivery_id(epoch_ms: int) -> str:
    """For test sends, which belong to no platform event."""
    return f"msg_{_time_prefix(epoch_ms)}{secrets.token_hex(11)[:21]}"


def delivery_id_floor(epoch_ms: int) -> str:
    """The smallest delivery id at or after `epoch_ms` (key ranges by time)."""
    return f"msg_{_time_prefix(epoch_ms)}"


def is_delivery_id(text: str) -> bool:
    return bool(DELIVERY_ID.match(text))


@dataclass(frozen=True)
class DeliveryMessage:
    delivery_id: str
    webhook_id: str
    developer_id: str
    event_id: str
    event: str
    timestamp: str
    payload: str | None  # inline; None when payload_ref names the stored payload
    attempt: int = 1
    trigger: Trigger = Trigger.FIRST
    queued_at_ms: int = 0
    not_before_ms: int = 0  # a retry waiting longer than SQS can delay one message hops until then
    slot_ms: int = 0  # the rate-limit slot this post was given (it is not given another)
    payload_ref: str | None = None
    version: int = MESSAGE_VERSION
    traceparent: str | None = None  # the fan-out's span (W3C): each attempt is a new span under it
    tracestate: str | None = None
    sequence: int | None = None  # detail.sequence: the producer's order within a key (events_core.ordering)
    ordered_at_ms: int | None = None  # registered in its key's queue at this time (events_core.ordering)

    @property
    def trace(self) -> TraceContext | None:
        return parse(self.traceparent, self.tracestate)

    def to_json(self) -> str:
        fields = {name: value for name, value in asdict(self).items() if value is not None}
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "DeliveryMessage":
        try:
            fields: Any = json.loads(text)
            if not isinstance(fields, dict):
                raise MalformedMessage("not a JSON object")
            version = fields.setdefault("version", 1)  # version 1 had no version field
            if version not in (1, MESSAGE_VERSION):
                raise MalformedMessage(f"version {version!r} is not one this code reads (1 or {MESSAGE_VERSION})")
            if version == 1 and "payload_ref" in fields:
                raise MalformedMessage("a version 1 message carries its payload inline")
            fields.setdefault("payload", None)
            message = cls(**{**fields, "trigger": Trigger(fields.get("trigger", Trigger.FIRST))})
        except (ValueError, TypeError, RecursionError) as error:
            raise MalformedMessage(str(error)[:200]) from None
        message.check()
        return message

    def check(self) -> None:
        strings = (self.delivery_id, self.webhook_id, self.developer_id, self.event_id, self.event)
        if not all(isinstance(value, str) and value for value in strings):
            raise MalformedMessage("a required field is missing or not a string")
        carried = [value for value in (self.payload, self.payload_ref) if value is not None]
        if len(carried) != 1 or not isinstance(carried[0], str) or not carried[0]:
            raise MalformedMessage("exactly one of payload (inline) and payload_ref (stored) is required")
        if not isinstance(self.attempt, int) or isinstance(self.attempt, bool) or self.attempt < 1:
            raise MalformedMessage(f"attempt {self.attempt!r} is not a positive integer")
        if self.sequence is not None and (not isinstance(self.sequence, int) or isinstance(self.sequence, bool)):
            raise MalformedMessage(f"sequence {self.sequence!r} is not an integer")

    def next(self, attempt: int, trigger: Trigger, *, queued_at_ms: int, not_before_ms: int = 0) -> "DeliveryMessage":
        return DeliveryMessage(
            **{
                **asdict(self),
                "attempt": attempt,
                "trigger": trigger,
                "queued_at_ms": queued_at_ms,
                "not_before_ms": not_before_ms,
                "slot_ms": 0,
                "version": MESSAGE_VERSION,
            }
        )
