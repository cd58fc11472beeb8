"""W3C trace context: what is accepted, what every post carries, and what old messages and records
still read as (events_core.tracing)."""

import json
import subprocess
import sys

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from events_core.delivery.envelope import parse_envelope
from events_core.delivery.signing import delivery_headers
from events_core.errors import BadRequest
from events_core.records.message import DeliveryMessage
from events_core.records.model import DeliveryRecord
from events_core.tracing import TraceContext, clean_tracestate, handout_trace, new_trace, parse, span
from events_core.webhooks.controls import parse_headers
from eventsapi_publisher import Event, InvalidEventData, entry
from eventsapi_publisher.publisher import check, in_current_trace

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
SOURCE = "cn.invoratec.platform"


@pytest.mark.parametrize(
    "text",
    [
        None,
        42,
        "",
        VALID.upper(),
        VALID[:-1],
        VALID + "-",  # version 00 has exactly four fields
        "ff" + VALID[2:],  # version ff is invalid
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero span id
        "00-4bf92f3577b34da6a3ce929d0e0e4736x00f067aa0ba902b7-01",
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",  # a later version's extra field needs a dash
        VALID + "x" * 10_000,
    ],
)
def test_an_invalid_traceparent_is_ignored(text):
    assert parse(text) is None


def test_a_valid_traceparent_and_a_later_version_are_read():
    assert parse(VALID) == TraceContext("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "01")
    later = parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-adds")
    assert later is not None and later.traceparent == VALID  # we answer in the version we speak


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("vendor=abc", "vendor=abc"),
        ("vendor=abc, other@sys=1", "vendor=abc,other@sys=1"),
        ("no-equals", None),
        ("Upper=1", None),
        ("a=" + "x" * 600, None),
        (",".join(f"k{n}=v" for n in range(33)), None),
        ("", None),
        (7, None),
    ],
)
def test_tracestate_is_kept_when_valid_and_dropped_alone_when_not(given, kept):
    assert clean_tracestate(given) == kept
    found = parse(VALID, given)
    assert found is not None and found.state == kept


def test_every_post_carries_a_traceparent_and_a_given_context_is_used():
    own = delivery_headers(event="tool.executed", timestamp="t", delivery_id="msg_1", body=b"{}")
    assert parse(own["traceparent"]) is not None and "tracestate" not in own
    context = parse(VALID, "vendor=abc")
    assert context is not None
    child = context.child()
    headers = delivery_headers(event="e", timestamp="t", delivery_id="msg_1", body=b"{}", trace=child)
    assert headers["traceparent"] == f"00-{context.trace_id}-{child.span_id}-01"
    assert headers["tracestate"] == "vendor=abc" and child.span_id != context.span_id


def test_with_export_off_a_span_is_a_new_span_id_of_the_same_trace_or_a_new_trace():
    parent = parse(VALID)
    with span("delivery.attempt", parent) as inside:
        assert inside.trace_id == parent.trace_id and inside.span_id != parent.span_id
    with span("webhook.test", None) as own:
        assert parse(own.traceparent) is not None and own.trace_id != parent.trace_id
    assert handout_trace(None, None).trace_id != handout_trace(None, None).trace_id
    assert handout_trace(VALID, None).trace_id == parent.trace_id


def test_a_delivery_message_without_a_trace_still_reads_and_one_with_it_round_trips():
    old = {
        "delivery_id": "msg_" + "0" * 32,
        "webhook_id": "w",
        "developer_id": "d",
        "event_id": "e",
        "event": "tool.executed",
        "timestamp": "2026-01-01T00:00:00.000Z",
        "payload": "{}",
        "version": 2,
    }
    message = DeliveryMessage.from_json(json.dumps(old))
    assert message.traceparent is None and message.trace is None
    traced = DeliveryMessage.from_json(json.dumps({**old, "traceparent": VALID, "tracestate": "v=1"}))
    assert traced.trace == parse(VALID, "v=1")
    assert DeliveryMessage.from_json(traced.next(2, traced.trigger, queued_at_ms=1).to_json()).traceparent == VALID


def test_a_record_written_before_tracing_answers_trace_id_null():
    item = {
        "developerId": "d",
        "webhookId": "w",
        "deliveryId": "msg_" + "0" * 32,
        "status": "succeeded",
        "attempts": [{"attempt": 1, "attemptedAt": "2026-01-01T00:00:00.000Z", "status": 200}],
    }
    old = DeliveryRecord.from_item(item)
    assert old.public(detail=True)["traceId"] is None and old.public(detail=True)["attempts"][0]["spanId"] is None
    new = DeliveryRecord.from_item({**item, "traceparent": VALID})
    assert new.public()["traceId"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert DeliveryRecord.from_item(new.to_item()).traceparent == VALID


def _envelope(detail: dict) -> str:
    return json.dumps(
        {
            "id": "evt-1",
            "source": SOURCE,
            "detail-type": "tool.executed",
            "time": "2026-01-01T00:00:00Z",
            "detail": detail,
        }
    )


def test_the_envelope_reads_the_producers_context_and_ignores_what_it_does_not_know():
    detail = {"developerId": "d", "data": {"a": 1}, "traceparent": VALID, "tracestate": "v=1", "extra": {"x": 1}}
    event = parse_envelope(_envelope(detail), SOURCE)
    assert event.trace == parse(VALID, "v=1")
    assert json.loads(event.payload)["data"] == {"a": 1} and "extra" not in event.payload
    assert parse_envelope(_envelope({**detail, "traceparent": "garbage"}), SOURCE).trace is None
    assert parse_envelope(_envelope({"developerId": "d", "data": {}}), SOURCE).trace is None


def test_a_webhook_cannot_set_the_trace_headers_itself():
    for name in ("traceparent", "TraceState"):
        with pytest.raises(BadRequest, match="the service sets it"):
            parse_headers({name: "x"})


def test_the_publisher_puts_the_callers_current_context_in_the_detail():
    tracer = TracerProvider().get_tracer("producer")
    event = Event("tool.executed", "user_1", {"toolName": "t", "input": {}, "result": {}, "elapsed_ms": 1})
    assert "traceparent" not in json.loads(entry(in_current_trace(event), "bus")["Detail"])
    with tracer.start_as_current_span("producer"):
        expected = trace.get_current_span().get_span_context()
        detail = json.loads(entry(in_current_trace(event), "bus")["Detail"])
    found = parse(detail["traceparent"])
    assert found is not None and found.trace_id == f"{expected.trace_id:032x}"
    assert found.span_id == f"{expected.span_id:016x}"
    named = Event(event.event_type, event.developer_id, event.data, traceparent=new_trace().traceparent)
    assert in_current_trace(named) is named
    with pytest.raises(InvalidEventData, match="traceparent"):
        check(Event(event.event_type, event.developer_id, event.data, traceparent="nope"))


def test_with_export_off_opentelemetry_is_never_imported():
    """Not at import (tests/unit/test_cold_start.py) and not at run time either: spans, records,
    attributes and the flush at the end of an invocation all stay in events_core.tracing."""
    probe = """
import os, sys
os.environ.pop("TRACE_EXPORT_ENDPOINT", None)
from events_core import tracing
from events_core.delivery.signing import delivery_headers
with tracing.span("fanout", None) as fanned:
    tracing.record("delivery.queue_wait", fanned, start_ms=1, end_ms=2)
    with tracing.span("delivery.attempt", fanned) as attempt:
        delivery_headers(event="e", timestamp="t", delivery_id="msg_1", body=b"{}", trace=attempt)
        tracing.annotate({"http.response.status_code": 200})
tracing.flush()
print(sorted(name for name in sys.modules if name.startswith("opentelemetry")))
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
