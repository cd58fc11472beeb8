"""Trace context on `eventsapi run` (what `make run` starts): an event published through the
publishing package inside a trace reaches two webhooks in the caller's trace; one published without
a trace reaches both with one shared trace id; a test send has a trace of its own."""

import secrets

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from events_core.tracing import parse
from eventsapi.harness.receiver import Receiver
from eventsapi.local.wiring import emulator_session
from eventsapi_publisher import Publisher
from tests.client import EventsApi, wait_for
from tests.e2e.conftest import start_stack, stop_stack
from tests.otlp import OtlpReceiver


def _data(tool: str) -> dict:
    return {"toolName": tool, "input": {}, "result": {}, "elapsed_ms": 1}


def _two_webhooks(api: EventsApi, receiver: Receiver, tool: str) -> list[dict]:
    """Two webhooks that take only this test's events (a filter on its own tool name)."""
    return [
        api.create({"event": "tool.executed", "url": receiver.url(path), "filter": {"toolName": tool}})
        for path in ("/a", "/b")
    ]


def _publisher(stack) -> Publisher:
    return Publisher("platform-events", client=emulator_session().client("events", endpoint_url=stack.endpoint))


def _contexts(receiver: Receiver) -> list:
    posts = wait_for(lambda: (receiver.at("/a") + receiver.at("/b")) if receiver.at("/a") and receiver.at("/b") else [])
    found = [parse(post.headers.get("traceparent"), post.headers.get("tracestate")) for post in posts]
    assert all(found), [post.headers for post in posts]
    return found


def test_an_event_published_inside_a_trace_reaches_both_webhooks_in_the_callers_trace(running_stack):
    api = EventsApi(running_stack.api_url, running_stack.key)
    tool = f"trace-{secrets.token_hex(4)}"
    with Receiver() as receiver:
        _two_webhooks(api, receiver, tool)
        with TracerProvider().get_tracer("producer").start_as_current_span("checkout"):
            caller = trace.get_current_span().get_span_context()
            _publisher(running_stack).publish("tool.executed", "user_123", _data(tool))
        contexts = _contexts(receiver)
    assert {context.trace_id for context in contexts} == {f"{caller.trace_id:032x}"}
    assert len({context.span_id for context in contexts} | {f"{caller.span_id:016x}"}) == 3


def test_an_event_without_a_trace_reaches_both_webhooks_with_one_shared_trace_id(running_stack):
    api = EventsApi(running_stack.api_url, running_stack.key)
    tool = f"untraced-{secrets.token_hex(4)}"
    with Receiver() as receiver:
        hooks = _two_webhooks(api, receiver, tool)
        _publisher(running_stack).publish("tool.executed", "user_123", _data(tool))
        contexts = _contexts(receiver)
        [trace_id] = {context.trace_id for context in contexts}
        assert len({context.span_id for context in contexts}) == 2
        for hook in hooks:
            [delivery] = wait_for(lambda hook=hook: [d for d in api.deliveries(hook["id"]) if d["traceId"]])
            assert delivery["traceId"] == trace_id


def test_a_test_send_has_a_trace_of_its_own(running_stack):
    api = EventsApi(running_stack.api_url, running_stack.key)
    with Receiver() as receiver:
        hook = api.create({"event": "tool.executed", "url": receiver.url("/a"), "filter": {"toolName": "never"}})
        first = api("POST", f"/v1/events/webhooks/{hook['id']}/test", {}, expect=200)
        second = api("POST", f"/v1/events/webhooks/{hook['id']}/test", {}, expect=200)
        posts = receiver.at("/a")
    contexts = [parse(post.headers.get("traceparent")) for post in posts]
    assert [context.trace_id for context in contexts if context] == [first["traceId"], second["traceId"]]
    assert first["traceId"] != second["traceId"]


def test_with_export_on_one_event_yields_its_fanout_queue_wait_and_attempt_spans_under_one_trace():
    with OtlpReceiver() as collector, Receiver() as receiver:
        stack = start_stack(f"TraceExportEndpoint={collector.endpoint}")
        try:
            api = EventsApi(stack.api_url, stack.key)
            tool = f"exported-{secrets.token_hex(4)}"
            _two_webhooks(api, receiver, tool)
            with TracerProvider().get_tracer("producer").start_as_current_span("checkout"):
                caller = trace.get_current_span().get_span_context()
                _publisher(stack).publish("tool.executed", "user_123", _data(tool))
            _contexts(receiver)
            trace_id = f"{caller.trace_id:032x}"

            def spans() -> list[dict]:
                found = [s for s in collector.spans() if s["traceId"] == trace_id]
                return found if len(found) >= 5 else []

            names = sorted(s["name"] for s in wait_for(spans))
        finally:
            stop_stack(stack)
    assert names == ["delivery.attempt"] * 2 + ["delivery.queue_wait"] * 2 + ["fanout"], names
