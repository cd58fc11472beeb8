"""Span export, imported only when the stack turns it on (events_core.tracing.exporting).

The OpenTelemetry API and SDK record the spans; they are kept in memory for the invocation and
sent at its end (events_core.observability calls `flush`) in one OTLP/HTTP request, JSON-encoded
(OTLP/HTTP accepts JSON as well as protobuf), so neither protobuf nor an HTTP library ships in
the layer. No background thread: Lambda freezes the environment between invocations. An export
that fails is logged and dropped; it never fails the work it describes.

The AWS SDK's calls made inside one of our spans (the API's store calls, a delivery's lease) are
spans too: `instrument` hooks a boto3 client's events.
"""

import json
import os
import threading
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from events_core.trace_context import EXPORT_ENDPOINT, TraceContext

SCOPE = "events-api"
EXPORT_TIMEOUT_SECONDS = 2.0
_MAX_KEPT = 2048  # spans held for one export; beyond that the oldest are sent early
# The service's logger (events_core.observability) by its child: this module is loaded by the
# tracing module, which the observability module itself imports.
logger = Logger(child=True)


class _Kept(SpanProcessor):
    """Finished spans, kept until `flush`."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []
        self.lock = threading.Lock()

    def on_end(self, span: ReadableSpan) -> None:
        with self.lock:
            self.spans.append(span)
            full = len(self.spans) >= _MAX_KEPT
        if full:
            flush()

    def take(self) -> list[ReadableSpan]:
        with self.lock:
            spans, self.spans = self.spans, []
        return spans


@cache
def _provider() -> tuple[trace.Tracer, _Kept]:
    kept = _Kept()
    service = os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or SCOPE
    provider = TracerProvider(resource=Resource.create({"service.name": service, "service.namespace": SCOPE}))
    provider.add_span_processor(kept)
    return provider.get_tracer(SCOPE), kept


def traces_url() -> str:
    """The parameter as given; an endpoint without a path gets OTLP's /v1/traces."""
    endpoint = os.environ.get(EXPORT_ENDPOINT, "").strip()
    return endpoint.rstrip("/") + "/v1/traces" if urlsplit(endpoint).path in ("", "/") else endpoint


def _parent(parent: TraceContext | None) -> otel_context.Context:
    """The OpenTelemetry context to start a span in: the given one, or none (a new trace)."""
    if parent is None:
        return otel_context.Context()
    remote = SpanContext(
        int(parent.trace_id, 16),
        int(parent.span_id, 16),
        is_remote=True,
        trace_flags=TraceFlags(int(parent.flags, 16)),
        trace_state=TraceState.from_header([parent.state]) if parent.state else TraceState(),
    )
    return trace.set_span_in_context(NonRecordingSpan(remote))


def _ours(span: trace.Span, state: str | None) -> TraceContext:
    found = span.get_span_context()
    return TraceContext(f"{found.trace_id:032x}", f"{found.span_id:016x}", f"{int(found.trace_flags):02x}", state)


@contextmanager
def span(
    name: str, parent: TraceContext | None, attributes: Mapping[str, Any], start_ms: int | None
) -> Iterator[TraceContext]:
    tracer, _ = _provider()
    start = None if start_ms is None else start_ms * 1_000_000
    with tracer.start_as_current_span(
        name, context=_parent(parent), attributes=dict(attributes), start_time=start
    ) as made:
        yield _ours(made, parent.state if parent else None)


def record(name: str, parent: TraceContext, start_ms: int, end_ms: int, attributes: Mapping[str, Any]) -> None:
    tracer, _ = _provider()
    made = tracer.start_span(
        name, context=_parent(parent), attributes=dict(attributes), start_time=start_ms * 1_000_000
    )
    made.end(end_time=max(start_ms, end_ms) * 1_000_000)


def annotate(attributes: Mapping[str, Any]) -> None:
    trace.get_current_span().set_attributes(dict(attributes))


def flush() -> None:
    _, kept = _provider()
    spans = kept.take()
    if not spans:
        return
    body = json.dumps(encode(spans), separators=(",", ":")).encode()
    request = urllib.request.Request(  # noqa: S310 - the operator's own endpoint (a stack parameter)
        traces_url(), data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=EXPORT_TIMEOUT_SECONDS) as answer:  # noqa: S310
            answer.read(1024)
    except (OSError, ValueError) as error:
        logger.warning("spans not exported", extra={"count": len(spans), "reason": type(error).__name__})


# -- OTLP/HTTP JSON (opentelemetry-proto's JSON mapping: ids in hex, 64-bit integers as strings)
_KINDS = {
    SpanKind.INTERNAL: 1,
    SpanKind.SERVER: 2,
    SpanKind.CLIENT: 3,
    SpanKind.PRODUCER: 4,
    SpanKind.CONSUMER: 5,
}
_STATUS = {StatusCode.UNSET: 0, StatusCode.OK: 1, StatusCode.ERROR: 2}


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [_value(item) for item in value]}}
    return {"stringValue": str(value)}


def _attributes(values: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return [{"key": key, "value": _value(value)} for key, value in (values or {}).items()]


def _span(span: ReadableSpan) -> dict[str, Any]:
    found = span.get_span_context()
    encoded: dict[str, Any] = {
        "traceId": f"{found.trace_id:032x}" if found else "",
        "spanId": f"{found.span_id:016x}" if found else "",
        "name": span.name,
        "kind": _KINDS.get(span.kind, 1),
        "startTimeUnixNano": str(span.start_time or 0),
        "endTimeUnixNano": str(span.end_time or 0),
        "attributes": _attributes(span.attributes),
        "status": {"code": _STATUS.get(span.status.status_code, 0), "message": span.status.description or ""},
    }
    if span.parent is not None:
        encoded["parentSpanId"] = f"{span.parent.span_id:016x}"
    if found is not None and found.trace_state:
        encoded["traceState"] = found.trace_state.to_header()
    return encoded


def encode(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """One ExportTraceServiceRequest: the spans grouped by resource."""
    by_resource: dict[int, tuple[Resource, list[ReadableSpan]]] = {}
    for span in spans:
        by_resource.setdefault(id(span.resource), (span.resource, []))[1].append(span)
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _attributes(resource.attributes)},
                "scopeSpans": [{"scope": {"name": SCOPE}, "spans": [_span(span) for span in grouped]}],
            }
            for resource, grouped in by_resource.values()
        ]
    }


# -- the AWS SDK's calls, as client spans of the span they are made in
_SPAN_KEY = "events_core.tracing_span"


def instrument(events: Any) -> None:
    """Hook a boto3 client's event system: a span per AWS call made inside one of ours."""
    events.register("before-call.*.*", _before_call)
    events.register("after-call.*.*", _after_call)
    events.register("after-call-error.*.*", _after_call_error)


def _before_call(model: Any = None, context: Any = None, **_: Any) -> None:
    if context is None or not trace.get_current_span().get_span_context().is_valid:
        return
    tracer = _provider()[0]
    service = model.service_model.service_name if model is not None else "aws"
    operation = model.name if model is not None else "call"
    context[_SPAN_KEY] = tracer.start_span(
        f"{service}.{operation}",
        kind=SpanKind.CLIENT,
        attributes={"rpc.system": "aws-api", "rpc.service": service, "rpc.method": operation},
    )


def _after_call(http_response: Any = None, context: Any = None, **_: Any) -> None:
    made = (context or {}).pop(_SPAN_KEY, None)
    if made is None:
        return
    status = getattr(http_response, "status_code", None)
    if status is not None:
        made.set_attribute("http.response.status_code", status)
        if status >= 400:
            made.set_status(Status(StatusCode.ERROR))
    made.end()


def _after_call_error(exception: Any = None, context: Any = None, **_: Any) -> None:
    made = (context or {}).pop(_SPAN_KEY, None)
    if made is not None:
        made.set_status(Status(StatusCode.ERROR, type(exception).__name__))
        made.end()
