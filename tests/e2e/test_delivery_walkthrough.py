"""The delivery walkthrough of the README, as a new user runs it: make run, a receiver on
127.0.0.1, a webhook with a secret, `eventsapi events send` (and raw PutEvents on the emulator, as the
README's `publish` does), one POST the reference's code accepts."""

import json
import subprocess
import time

from eventsapi.harness.receiver import Receiver
from eventsapi.local.wiring import emulator_session
from tests.client import wait_for
from tests.reference.verify import verify


def put_event(stack, detail: dict) -> None:
    entries = json.dumps(
        [
            {
                "Source": "cn.invoratec.platform",
                "DetailType": "tool.executed",
                "EventBusName": "platform-events",
                "Detail": json.dumps(detail),
            }
        ]
    )
    client = emulator_session().client("events", endpoint_url=stack.endpoint)
    assert client.put_events(Entries=json.loads(entries))["FailedEntryCount"] == 0


def register(stack, body: dict) -> dict:
    """POST /v1/events/webhooks with curl, as the README does."""
    done = subprocess.run(
        [
            "curl",
            "-sS",
            "-X",
            "POST",
            f"{stack.api_url}/v1/events/webhooks",
            "-H",
            f"X-API-Key: {stack.key}",
            "-H",
            "Content-Type: application/json",
            "-d",
            json.dumps(body),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_put_events_ends_as_one_signed_post(running_stack):
    with Receiver() as receiver:
        created = register(
            running_stack,
            {"event": "tool.executed", "url": receiver.url("/webhooks/tools"), "secret": "my-webhook-secret"},
        )
        assert created["enabled"] is True

        data = {"toolName": "erp_get_inventory", "input": {}, "result": {"total": 42}, "elapsed_ms": 230}
        sent = running_stack.eventsapi(  # as the README publishes: no aws CLI needed
            "events", "send", "tool.executed", "--developer", "user_123", "--data", json.dumps(data)
        )
        assert sent.returncode == 0 and sent.stdout.startswith("published tool.executed"), sent.stderr
        [post] = wait_for(lambda: receiver.at("/webhooks/tools"))
        assert verify(post.body, post.headers["X-Webhook-Signature"], "my-webhook-secret")
        assert json.loads(post.body)["data"]["toolName"] == "erp_get_inventory"
        time.sleep(1.5)
        assert len(receiver.at("/webhooks/tools")) == 1, "exactly one POST"

        listed = subprocess.run(
            ["curl", "-sS", f"{running_stack.api_url}/v1/events/webhooks", "-H", f"X-API-Key: {running_stack.key}"],
            capture_output=True,
            text=True,
            check=True,
        )
        [hook] = [h for h in json.loads(listed.stdout)["webhooks"] if h["url"] == receiver.url("/webhooks/tools")]
        assert hook["lastTriggered"] is not None and hook["failCount"] == 0


def test_a_failing_receiver_is_retried_on_the_local_schedule(running_stack):
    with Receiver() as receiver:
        url = receiver.behave("/flaky", status=503)
        register(running_stack, {"event": "tool.executed", "url": url, "filter": {"flaky": True}})
        put_event(running_stack, {"developerId": "user_123", "data": {"flaky": True}})
        wait_for(lambda: len(receiver.at("/flaky")) >= 2)
        receiver.behave("/flaky", status=200)
        wait_for(lambda: receiver.at("/flaky")[-1] and len(receiver.at("/flaky")) >= 3, seconds=20)
        posts = receiver.at("/flaky")
        assert len({p.headers["X-Webhook-Id"] for p in posts}) == 1
