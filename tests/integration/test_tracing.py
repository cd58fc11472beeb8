"""Trace context end to end, on the template on moto with real receivers on 127.0.0.1: a
producer's trace reaches every receiver (W3C traceparent/tracestate), an event without one gets one
trace for all of its posts, every attempt is a span of its own, test sends start their own trace,
and with export on the spans reach an OTLP/HTTP receiver."""

import json

import boto3
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

from events_core.delivery import queues
from events_core.records.message import DeliveryMessage, delivery_id
from events_core.tracing import parse
from eventsapi.local.wiring import REGION
from eventsapi_publisher import Publisher
from tests.otlp import OtlpReceiver

WEBHOOKS = "/v1/events/webhooks"
DATA = {"toolName": "erp_get_inventory", "input": {}, "result": {}, "elapsed_ms": 1}
CALLER_TRACE = 0x4BF92F3577B34DA6A3CE929D0E0E4736
CALLER_STATE = "vendor=abc,other=1"


def _publisher(pipeline) -> Publisher:
    return Publisher(pipeline.physical("PlatformEventBus"), client=boto3.client("events", region_name=REGION))


def _publish_inside_a_trace(pipeline) -> str:
    """Publish through the publishing package inside the producer's own OpenTelemetry span; that
    span's id (the parent the stack continues)."""
    tracer = TracerProvider().get_tracer("producer")
    upstream = SpanContext(
        CALLER_TRACE, 0x00F067AA0BA902B7, is_remote=True, trace_flags=TraceFlags(1),
        trace_state=TraceState.from_header([CALLER_STATE]),
    )  # fmt: skip
    with tracer.start_as_current_span("checkout", context=trace.set_span_in_context(NonRecordingSpan(upstream))):
        span_id = f"{trace.get_current_span().get_span_context().span_id:016x}"
        _publisher(pipeline).publish("tool.executed", "user_123", DATA)
    return span_id


def _contexts(posts) -> list:
    found = [parse(post.headers.get("traceparent"), post.headers.get("tracestate")) for post in posts]
    assert all(found), [post.headers for post in posts]
    return found


def _deliveries(pipeline, key: str, hook: dict) -> list[dict]:
    answer = pipeline.stack.call("GET", f"{WEBHOOKS}/{hook['id']}/deliveries", key=key)
    assert answer.status == 200, answer.json
    return answer.json["deliveries"]


def test_an_event_published_inside_a_trace_reaches_both_receivers_in_that_trace(pipeline, receiver):
    key = pipeline.stack.key()
    hooks = [pipeline.webhook(key, receiver.url(path)) for path in ("/a", "/b")]
    caller_span = _publish_inside_a_trace(pipeline)
    pipeline.pump()

    [a], [b] = receiver.at("/a"), receiver.at("/b")
    first, second = _contexts([a, b])
    assert first.trace_id == second.trace_id == f"{CALLER_TRACE:032x}"
    assert first.state == second.state == CALLER_STATE
    assert len({first.span_id, second.span_id, caller_span}) == 3  # each post a span of its own
    for hook, context in zip(hooks, (first, second), strict=True):
        [delivery] = _deliveries(pipeline, key, hook)
        assert delivery["traceId"] == f"{CALLER_TRACE:032x}"
        detail = pipeline.stack.call("GET", f"{WEBHOOKS}/{hook['id']}/deliveries/{delivery['deliveryId']}", key=key)
        assert [attempt["spanId"] for attempt in detail.json["attempts"]] == [context.span_id]


def test_an_event_without_a_trace_gets_one_shared_by_all_of_its_posts(pipeline, receiver):
    key = pipeline.stack.key()
    for path in ("/a", "/b"):
        pipeline.webhook(key, receiver.url(path))
    _publisher(pipeline).publish("tool.executed", "user_123", DATA)  # no current span: no context
    pipeline.publish("user_123", "tool.executed", DATA)  # a producer without the package
    pipeline.pump()

    posts = receiver.at("/a") + receiver.at("/b")
    assert len(posts) == 4
    traces: dict[str, set[str]] = {}
    for post, context in zip(posts, _contexts(posts), strict=True):
        assert context.state is None
        traces.setdefault(_event_of(pipeline, post.headers["X-Webhook-Id"]), set()).add(context.trace_id)
    assert len(traces) == 2 and all(len(ids) == 1 for ids in traces.values())
    assert len({next(iter(ids)) for ids in traces.values()}) == 2  # each event a trace of its own
    assert len({context.span_id for context in _contexts(posts)}) == 4


def _event_of(pipeline, delivery: str) -> str:
    [record] = [item for item in pipeline.records() if item["deliveryId"] == delivery]
    return record["eventId"]


def test_a_retry_is_a_new_span_of_the_same_trace_and_a_redelivery_continues_it(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="0")
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.behave("/flaky", status=500))
    caller_span = _publish_inside_a_trace(pipeline)
    pipeline.pump()
    receiver.behave("/flaky", status=204)
    [delivery] = _deliveries(pipeline, key, hook)
    path = f"{WEBHOOKS}/{hook['id']}/deliveries/{delivery['deliveryId']}"
    assert pipeline.stack.call("POST", f"{path}/redeliver", key=key).status == 202
    pipeline.pump()

    posts = receiver.at("/flaky")
    contexts = _contexts(posts)
    assert len(posts) == 3 and {c.trace_id for c in contexts} == {f"{CALLER_TRACE:032x}"}
    assert len({c.span_id for c in contexts} | {caller_span}) == 4
    detail = pipeline.stack.call("GET", path, key=key).json
    assert [a["trigger"] for a in detail["attempts"]] == ["first", "retry", "redeliver"]
    assert [a["spanId"] for a in detail["attempts"]] == [c.span_id for c in contexts]


def test_a_test_send_starts_a_trace_of_its_own(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"))
    _publish_inside_a_trace(pipeline)
    pipeline.pump()
    answer = pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/test", key=key, body={})
    assert answer.status == 200, answer.json

    event_post, test_post = receiver.at("/hook")
    event_context, test_context = _contexts([event_post, test_post])
    assert test_post.headers["X-Webhook-Test"] == "true"
    assert test_context.trace_id == answer.json["traceId"] != event_context.trace_id
    assert test_context.trace_id != f"{CALLER_TRACE:032x}"
    recorded = {d["deliveryId"]: d["traceId"] for d in _deliveries(pipeline, key, hook)}
    assert recorded[answer.json["deliveryId"]] == test_context.trace_id


def test_a_message_queued_before_tracing_still_delivers_and_starts_a_trace(pipeline, receiver):
    """Old delivery messages carry no traceparent: they read, and their post starts a trace that
    the delivery record keeps."""
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"))
    old = json.loads(
        DeliveryMessage(
            delivery_id=delivery_id("evt-old", hook["id"], 1_770_000_000_000),
            webhook_id=hook["id"],
            developer_id="user_123",
            event_id="evt-old",
            event="tool.executed",
            timestamp="2026-02-02T02:40:00.000Z",
            payload='{"event":"tool.executed","timestamp":"2026-02-02T02:40:00.000Z","data":{}}',
        ).to_json()
    )
    assert "traceparent" not in old
    queues.send_all(pipeline.physical("DeliveryQueue"), [queues.Outgoing(json.dumps(old), "user_123")])
    pipeline.pump()

    [post] = receiver.at("/hook")
    [context] = _contexts([post])
    [delivery] = _deliveries(pipeline, key, hook)
    assert delivery["traceId"] == context.trace_id


def test_unknown_detail_keys_are_ignored_and_never_delivered(pipeline, receiver):
    pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    pipeline.put_detail(
        "tool.executed",
        {"developerId": "user_123", "data": DATA, "traceparent": "not-a-traceparent", "internal": {"x": 1}},
    )
    pipeline.pump()
    [post] = receiver.at("/hook")
    assert json.loads(post.body) == {
        "event": "tool.executed",
        "timestamp": json.loads(post.body)["timestamp"],
        "data": DATA,
    }
    assert _contexts([post])  # an invalid traceparent is ignored: the event starts a trace of its own


@pytest.fixture
def collector():
    with OtlpReceiver() as running:
        yield running


def test_with_export_on_one_event_yields_fanout_queue_wait_and_attempt_spans_under_one_trace(
    make_pipeline, receiver, collector
):
    pipeline = make_pipeline(TraceExportEndpoint=collector.endpoint, RetrySchedule="0")
    key = pipeline.stack.key()
    pipeline.webhook(key, receiver.behave("/flaky", status=503))
    pipeline.webhook(key, receiver.url("/ok"))
    caller_span = _publish_inside_a_trace(pipeline)
    pipeline.pump()

    spans = [s for s in collector.spans() if s["traceId"] == f"{CALLER_TRACE:032x}"]
    names = sorted(s["name"] for s in spans)
    assert names == ["delivery.attempt"] * 3 + ["delivery.queue_wait"] * 3 + ["fanout"], names
    [fanout] = [s for s in spans if s["name"] == "fanout"]
    assert fanout["parentSpanId"] == caller_span and fanout["attributes"]["events_api.deliveries"] == 2
    under_fanout = [s for s in spans if s["name"] != "fanout"]
    assert all(s["parentSpanId"] == fanout["spanId"] for s in under_fanout)
    attempts = [s for s in spans if s["name"] == "delivery.attempt"]
    posted = {c.span_id for c in _contexts(receiver.at("/flaky") + receiver.at("/ok"))}
    assert {s["spanId"] for s in attempts} == posted  # the header's parent id is the attempt's span
    statuses = sorted(s["attributes"]["http.response.status_code"] for s in attempts)
    assert statuses[1:] == [503, 503] and 200 <= statuses[0] < 300


def test_with_export_on_an_api_call_and_its_store_calls_are_spans(make_pipeline, collector):
    pipeline = make_pipeline(TraceExportEndpoint=collector.endpoint)
    key = pipeline.stack.key()
    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    answer = pipeline.stack.call("GET", WEBHOOKS, key=key, headers={"traceparent": caller})
    assert answer.status == 200
    spans = [s for s in collector.spans() if s["traceId"] == "0af7651916cd43dd8448eb211c80319c"]
    [request] = [s for s in spans if s["name"].startswith("GET ")]
    assert request["parentSpanId"] == "b7ad6b7169203331"
    stores = [s for s in spans if s["name"].startswith("dynamodb.")]
    assert stores and all(s["parentSpanId"] == request["spanId"] for s in stores)


def test_a_listen_session_hands_out_the_events_trace_in_its_headers(pipeline, receiver):
    key = pipeline.stack.key()
    pipeline.webhook(key, receiver.url("/hook"))
    opened = pipeline.stack.call("POST", "/v1/events/listen", key=key, body={"events": ["tool.executed"]})
    assert opened.status == 201, opened.json
    session = opened.json["sessionId"]
    _publish_inside_a_trace(pipeline)
    pipeline.pump()

    answer = pipeline.stack.call("GET", f"/v1/events/listen/{session}/next?wait=0", key=key)
    [delivery] = answer.json["deliveries"]
    handed = parse(delivery["headers"].get("traceparent"), delivery["headers"].get("tracestate"))
    [posted] = _contexts(receiver.at("/hook"))
    assert handed is not None and handed.trace_id == posted.trace_id == f"{CALLER_TRACE:032x}"
    assert handed.state == CALLER_STATE and handed.span_id != posted.span_id
    triggered = pipeline.stack.call("POST", "/v1/events/listen/trigger", key=key, body={"event": "tool.executed"})
    assert triggered.status in (200, 202), triggered.json
    [test_event] = pipeline.stack.call("GET", f"/v1/events/listen/{session}/next?wait=0", key=key).json["deliveries"]
    own = parse(test_event["headers"]["traceparent"])
    assert own is not None and own.trace_id != handed.trace_id  # a trigger's test event: a trace of its own


def test_ownership_challenges_start_a_trace_of_their_own(make_pipeline, receiver):
    pipeline = make_pipeline(EndpointVerification="required")
    key = pipeline.stack.key()
    echo = receiver.behave("/echo", answer=lambda body: json.loads(body)["data"].get("challenge", "ok").encode())
    hook = pipeline.webhook(key, echo)
    assert pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/verify", key=key).json["verified"] is True
    _publish_inside_a_trace(pipeline)
    pipeline.pump()

    challenges = [p for p in receiver.at("/echo") if p.headers["X-Webhook-Event"] == "webhook.verification"]
    event_posts = [p for p in receiver.at("/echo") if p.headers["X-Webhook-Event"] == "tool.executed"]
    assert challenges and event_posts
    [event_context] = _contexts(event_posts)
    challenge_traces = {context.trace_id for context in _contexts(challenges)}
    assert event_context.trace_id == f"{CALLER_TRACE:032x}" and event_context.trace_id not in challenge_traces
    assert len(challenge_traces) == len(challenges)  # each challenge a trace of its own
