"""Platform events as they arrive from EventBridge (through the events queue).

Parsing is strict (events_core.jsonsafe): an event whose data holds NaN, a number too long to be
one, a lone surrogate or deep nesting is refused with its reason, like one without a developer.
The data is kept twice: parsed, for filters, and as the exact text EventBridge handed over,
minified, which is what the webhook receives — never re-serialised, so never altered or enlarged.

`detail` has one shape: `developerId`, `data`, and optional top-level extensions —
`idempotencyKey`, `timestamp`, `subjects` (the people the event concerns, e.g. "user:42": what an
operator's erasure finds it by, events_core.records.subjects), `sequence` (an integer from 0 to 2^63-1:
the producer's order within an ordered webhook's key, events_core.ordering), and the producer's W3C
trace context (`traceparent`, `tracestate`: events_core.tracing). Any other top-level key is ignored
and never delivered. An invalid
`traceparent` is ignored too (W3C: the event then starts a trace of its own), never a reason to
refuse the event.
"""

import json
from dataclasses import dataclass
from typing import Any

from events_core import jsonsafe
from events_core.catalogue.publishing import idempotency_key_problem, subjects_problem
from events_core.clock import iso_ms, parse_iso
from events_core.errors import InvalidEvent
from events_core.event_types import EVENT_TYPES
from events_core.ordering.keys import valid_sequence
from events_core.records.message import LAST_ENCODABLE_MS
from events_core.tracing import TraceContext, parse

# The envelope and its detail wrap the data: two levels above the data's own limit.
MAX_ENVELOPE_DEPTH = jsonsafe.MAX_DEPTH + 2


@dataclass(frozen=True)
class PlatformEvent:
    event_id: str
    event_type: str
    developer_id: str
    timestamp: str
    timestamp_ms: int
    data: dict
    data_json: str  # the data exactly as received, minified
    idempotency_key: str | None = None  # detail.idempotencyKey: one event per key and developer (delivery/idempotency)
    trace: TraceContext | None = None  # detail.traceparent/tracestate: the producer's trace, continued
    subjects: tuple[str, ...] = ()  # detail.subjects: the people it concerns (erasure's index)
    sequence: int | None = None  # detail.sequence: the producer's order within a key (ordered webhooks)

    @property
    def payload(self) -> str:
        """The POST body, the reference's {event, timestamp, data}; signed as these bytes."""
        return payload_text(self.event_type, self.timestamp, self.data_json)


def payload_text(event_type: str, timestamp: str, data_json: str) -> str:
    return f'{{"event":{json.dumps(event_type)},"timestamp":{json.dumps(timestamp)},"data":{data_json}}}'


def _object_members(text: str, start: int, what: str) -> dict[str, tuple[Any, int, int]]:
    try:
        return {key: (value, begin, end) for key, value, begin, end in jsonsafe.members(text, start)}
    except jsonsafe.InvalidJson as error:
        raise InvalidEvent(f"{what}: {error}") from None


def parse_envelope(body: str, expected_source: str) -> PlatformEvent:
    """Read only what real EventBridge and moto both send: id, time, source, detail-type, detail."""
    if jsonsafe.depth_of(body) > MAX_ENVELOPE_DEPTH:
        raise InvalidEvent(f"detail.data is nested deeper than {jsonsafe.MAX_DEPTH} levels")
    envelope = _object_members(body, 0, "the event is not strict JSON")
    value = {key: found[0] for key, found in envelope.items()}
    if value.get("source") != expected_source:
        raise InvalidEvent(f"source {value.get('source')!r} is not {expected_source!r}")
    event_type = value.get("detail-type")
    if event_type not in EVENT_TYPES:
        raise InvalidEvent(f"unknown event type {event_type!r}")
    event_id = value.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise InvalidEvent("no event id")
    if not isinstance(value.get("detail"), dict):
        raise InvalidEvent("detail is not an object")
    detail = _object_members(body, envelope["detail"][1], "detail")
    developer_id = detail.get("developerId", (None,))[0]
    if not isinstance(developer_id, str) or not developer_id.strip():
        raise InvalidEvent("detail.developerId is missing")
    if "data" not in detail or not isinstance(detail["data"][0], dict):
        raise InvalidEvent("detail.data is not an object")
    data, begin, end = detail["data"]
    data_text = body[begin:end]
    try:
        jsonsafe.refuse_surrogates(data_text, data)
    except jsonsafe.InvalidJson as error:
        raise InvalidEvent(f"detail.data: {error}") from None
    timestamp_ms = _timestamp_ms(detail.get("timestamp", (None,))[0], value.get("time"))
    idempotency_key = check_idempotency_key(detail.get("idempotencyKey", (None,))[0])
    return PlatformEvent(
        event_id=event_id,
        event_type=event_type,
        developer_id=developer_id,
        timestamp=iso_ms(timestamp_ms),
        timestamp_ms=timestamp_ms,
        data=data,
        data_json=jsonsafe.minify(data_text),
        idempotency_key=idempotency_key,
        trace=parse(detail.get("traceparent", (None,))[0], detail.get("tracestate", (None,))[0]),
        subjects=check_subjects(detail.get("subjects", (None,))[0]),
        sequence=check_sequence(detail.get("sequence", (None,))[0]),
    )


def check_subjects(subjects: Any) -> tuple[str, ...]:
    """A producer's detail.subjects: absent, or as events_core.catalogue.publishing says (each once)."""
    if subjects is None:
        return ()
    problem = subjects_problem(subjects)
    if problem:
        raise InvalidEvent(f"detail.subjects {problem}")
    return tuple(dict.fromkeys(subjects))


def check_sequence(value: Any) -> int | None:
    """A producer's detail.sequence: absent, or an integer from 0 to 2^63-1 (JSON's 7.0 is 7)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not valid_sequence(value):
        raise InvalidEvent("detail.sequence must be an integer from 0 to 9223372036854775807")
    return int(value)


def check_idempotency_key(key: Any) -> str | None:
    """A producer's detail.idempotencyKey: absent, or as events_core.catalogue.publishing says."""
    if key is None:
        return None
    problem = idempotency_key_problem(key)
    if problem:
        raise InvalidEvent(f"detail.idempotencyKey {problem}")
    return key


def _timestamp_ms(given: Any, event_time: Any) -> int:
    found = _parsed_timestamp_ms(given, event_time)
    if not 0 <= found <= LAST_ENCODABLE_MS:
        raise InvalidEvent("the event's timestamp is outside 1970-2106")
    return found


def _parsed_timestamp_ms(given: Any, event_time: Any) -> int:
    if given is not None:
        try:
            return parse_iso(given) if isinstance(given, str) else _not_iso(given)
        except ValueError:
            raise InvalidEvent(f"detail.timestamp {given!r} is not ISO-8601") from None
    if isinstance(event_time, str):
        try:
            return parse_iso(event_time)
        except ValueError:
            raise InvalidEvent(f"event time {event_time!r} is not ISO-8601") from None
    raise InvalidEvent("no timestamp and no event time")


def _not_iso(value: Any) -> int:
    raise ValueError(value)
