"""EndpointVerification=required on `eventsapi run`: a receiver that does not echo its challenge gets
nothing, one that echoes gets events once it verifies, and a changed URL is pending again."""

import json
import time

import pytest

from eventsapi.harness.receiver import Receiver
from tests.client import EventsApi, wait_for
from tests.e2e.conftest import start_stack, stop_stack
from tests.e2e.test_delivery_walkthrough import put_event


@pytest.fixture(scope="module")
def required_stack():
    stack = start_stack("EndpointVerification=required")
    yield stack
    stop_stack(stack)


def echo(body: bytes) -> bytes:
    return json.loads(body)["data"].get("challenge", "ok").encode()


def test_only_a_receiver_that_proves_itself_gets_events(required_stack):
    api = EventsApi(required_stack.api_url, required_stack.key)
    with Receiver() as receiver:
        silent = api.create({"event": "tool.executed", "url": receiver.url("/silent"), "secret": "s"})
        echoing = api.create({"event": "tool.executed", "url": receiver.behave("/echo", answer=echo), "secret": "s"})
        assert silent["disabledReason"] == echoing["disabledReason"] == "unverified"

        assert api("POST", f"/v1/events/webhooks/{silent['id']}/verify", expect=200)["verified"] is False
        assert api("POST", f"/v1/events/webhooks/{echoing['id']}/verify", expect=200)["verified"] is True

        put_event(required_stack, {"developerId": "user_123", "data": {"toolName": "after_verify"}})
        [post] = wait_for(lambda: [p for p in receiver.at("/echo") if b"after_verify" in p.body], seconds=30)
        assert post.headers["X-Webhook-Event"] == "tool.executed"
        time.sleep(1.5)
        assert [p for p in receiver.at("/silent") if b"after_verify" in p.body] == [], "the silent one got nothing"

        moved = api.change(echoing["id"], {"url": receiver.url("/moved")})
        assert moved["verification"]["status"] == "pending" and moved["enabled"] is False
        put_event(required_stack, {"developerId": "user_123", "data": {"toolName": "after_move"}})
        time.sleep(2)
        assert receiver.at("/moved") == []
