"""Trace context end to end: W3C `traceparent`/`tracestate`, and the service's own spans.

Every post a receiver gets carries a `traceparent`. An event published inside a trace (the
publishing package puts the caller's context in `detail.traceparent`/`detail.tracestate`)
continues it: the fan-out is a span of that trace, and each delivery attempt a new span under
the fan-out. An event without one starts one trace at its fan-out, shared by all of its posts.
Test sends and ownership challenges start a trace of their own.

Spans are recorded only where the stack turns export on (`TRACE_EXPORT_ENDPOINT`, the template's
TraceExportEndpoint: an OTLP/HTTP endpoint). Then the OpenTelemetry API and SDK make them
(events_core.tracing_export, imported on first use) and the ids in the headers are the spans'
own. Off, nothing of OpenTelemetry is imported — it costs a cold start about a sixth of boto3 —
and the ids are made here: the same headers, nothing recorded.
"""

import os
import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any

from events_core.trace_context import EXPORT_ENDPOINT, TraceContext, new_span_id

# version-traceid-spanid-flags; a later version may append fields after a dash (W3C, level 1).
_TRACEPARENT = r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})"
_MAX_TRACESTATE = 512
_MAX_MEMBERS = 32
_STATE_KEY = r"[a-z0-9][_0-9a-z\-*/]{0,240}(?:@[a-z][_0-9a-z\-*/]{0,13})?|[a-z][_0-9a-z\-*/]{0,255}"
_STATE_VALUE = r"[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]"


def parse(traceparent: Any, tracestate: Any = None) -> TraceContext | None:
    """A W3C context, or None when `traceparent` is absent or invalid (then a new trace starts). An
    invalid `tracestate` is dropped on its own, as W3C allows. Fixed-length checks: linear time."""
    if not isinstance(traceparent, str) or not 55 <= len(traceparent) <= 256:
        return None
    found = _patterns()[0].match(traceparent)
    if found is None:
        return None
    version, trace_id, span_id, flags = found.groups()
    rest = traceparent[55:]
    if version == "ff" or (version == "00" and rest) or (rest and not rest.startswith("-")):
        return None
    if trace_id == "0" * 32 or span_id == "0" * 16:
        return None
    return TraceContext(trace_id, span_id, flags, clean_tracestate(tracestate))


def clean_tracestate(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_TRACESTATE:
        return None
    members = [member.strip() for member in value.split(",") if member.strip()]
    if len(members) > _MAX_MEMBERS:
        return None
    _, key_pattern, value_pattern = _patterns()
    for member in members:
        key, equals, text = member.partition("=")
        if not equals or not key_pattern.fullmatch(key) or not value_pattern.fullmatch(text):
            return None
    return ",".join(members)


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """Compiled at first use, not at import (a cold start pays for every import)."""
    return re.compile(_TRACEPARENT), re.compile(_STATE_KEY), re.compile(_STATE_VALUE)


def new_trace() -> TraceContext:
    """The context of a trace started here (no span of it exists yet: children take its ids)."""
    return TraceContext(secrets.token_hex(16), new_span_id())


def handout_trace(traceparent: str | None, tracestate: str | None) -> TraceContext:
    """A stored delivery's context for one more hop (a listen hand-out): a new span under it, or a
    trace of its own when it kept none."""
    found = parse(traceparent, tracestate)
    return found.child() if found else new_trace()


def exporting() -> bool:
    return bool(os.environ.get(EXPORT_ENDPOINT, "").strip())


@contextmanager
def span(
    name: str,
    parent: TraceContext | None,
    *,
    attributes: Mapping[str, Any] | None = None,
    start_ms: int | None = None,
) -> Iterator[TraceContext]:
    """A span of ours, child of `parent` (a new trace when None); yields its context, whose
    `traceparent` is what the work inside sends on. Recorded only when export is on."""
    if not exporting():
        yield parent.child() if parent else new_trace()
        return
    from events_core import tracing_export  # the OpenTelemetry SDK: only when the stack exports

    with tracing_export.span(name, parent, attributes or {}, start_ms) as context:
        yield context


def record(
    name: str, parent: TraceContext, *, start_ms: int, end_ms: int, attributes: Mapping[str, Any] | None = None
) -> None:
    """A span already over (a delivery's wait in the queue, from its sending to its attempt)."""
    if exporting():
        from events_core import tracing_export

        tracing_export.record(name, parent, start_ms, end_ms, attributes or {})


def annotate(attributes: Mapping[str, Any]) -> None:
    """Add attributes to the span being recorded (what a post's outcome was)."""
    if exporting():
        from events_core import tracing_export

        tracing_export.annotate(attributes)


def flush() -> None:
    """Send the spans of this invocation before Lambda freezes the environment."""
    if exporting():
        from events_core import tracing_export

        tracing_export.flush()
