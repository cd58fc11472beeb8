"""The README's walkthroughs for managing a webhook and for when deliveries fail, against `eventsapi
run` (what `make run` starts) as a new user would drive it: HTTP calls, PutEvents,
`eventsapi dlq`, receivers on 127.0.0.1 checking signatures with the reference's own code."""

import base64
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
from standardwebhooks import Webhook as StandardWebhook

from eventsapi.harness.receiver import Receiver
from tests.e2e.conftest import start_stack, stop_stack
from tests.e2e.test_delivery_walkthrough import put_event, wait_for
from tests.reference.verify import verify

VERIFY_JS = Path(__file__).resolve().parents[1] / "reference" / "verify.js"


class Api:
    def __init__(self, stack):
        self.stack = stack
        self.http = requests.Session()
        self.http.headers["X-API-Key"] = stack.key

    def __call__(self, method: str, path: str, body: dict | None = None, expect: int | None = None) -> dict:
        answer = self.http.request(method, f"{self.stack.api_url}{path}", json=body, timeout=60)
        if expect is not None:
            assert answer.status_code == expect, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def stack():
    # Short retries and a short secret overlap, both template parameters.
    running = start_stack("RetrySchedule=1,1", "SecretOverlapSeconds=3")
    yield running
    stop_stack(running)


@pytest.fixture
def api(stack):
    return Api(stack)


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def event(stack, marker: str, **data) -> None:
    put_event(stack, {"developerId": "user_123", "data": {"marker": marker, **data}})


def markers(receiver: Receiver, path: str, accepted_only: bool = False) -> list[str]:
    return [json.loads(p.body)["data"].get("marker") for p in receiver.at(path) if p.accepted or not accepted_only]


def test_pause_resume_and_back_from_a_410(stack, api, receiver):
    hook = api(
        "POST",
        "/v1/events/webhooks",
        {"event": "tool.executed", "url": receiver.url("/pause"), "filter": {"w": "pause"}},
        201,
    )
    api("PATCH", f"/v1/events/webhooks/{hook['id']}", {"enabled": False}, 200)
    event(stack, "while-paused", w="pause")
    time.sleep(2)
    assert markers(receiver, "/pause") == []
    api("PATCH", f"/v1/events/webhooks/{hook['id']}", {"enabled": True}, 200)
    event(stack, "after-resume", w="pause")
    wait_for(lambda: markers(receiver, "/pause"))
    assert markers(receiver, "/pause") == ["after-resume"]

    gone = api(
        "POST",
        "/v1/events/webhooks",
        {"event": "tool.executed", "url": receiver.behave("/gone", status=410), "filter": {"w": "gone"}},
        201,
    )
    event(stack, "first", w="gone")
    wait_for(lambda: api("GET", f"/v1/events/webhooks/{gone['id']}")["disabledReason"] == "gone")
    receiver.behave("/gone", status=200)
    enabled = api("PATCH", f"/v1/events/webhooks/{gone['id']}", {"enabled": True}, 200)
    assert (enabled["enabled"], enabled["failCount"], enabled["disabledReason"]) == (True, 0, None)
    event(stack, "second", w="gone")
    wait_for(lambda: "second" in markers(receiver, "/gone", accepted_only=True))


def node_verify(body: bytes, signature: str, secret: str) -> bool:
    done = subprocess.run(
        ["node", str(VERIFY_JS), secret, signature], input=body, capture_output=True, check=True, timeout=30
    )
    return done.stdout.decode().strip() == "true"


def standard(secret: str) -> StandardWebhook:
    return StandardWebhook("whsec_" + base64.b64encode(secret.encode()).decode())


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_a_test_send_verifies_with_every_reference_verifier(api, receiver):
    hook = api(
        "POST",
        "/v1/events/webhooks",
        {"event": "workflow.completed", "url": receiver.url("/test"), "secret": "my-webhook-secret"},
        201,
    )
    result = api("POST", f"/v1/events/webhooks/{hook['id']}/test", {}, 200)
    assert result["delivered"] is True and result["status"] == 200
    [post] = receiver.at("/test")
    assert verify(post.body, post.headers["X-Webhook-Signature"], "my-webhook-secret")
    assert node_verify(post.body, post.headers["X-Webhook-Signature"], "my-webhook-secret")
    assert standard("my-webhook-secret").verify(post.body, post.headers)["data"]["test"] is True


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_during_a_rotation_old_and_new_secrets_verify_then_only_the_new(stack, api, receiver):
    hook = api(
        "POST",
        "/v1/events/webhooks",
        {"event": "tool.executed", "url": receiver.url("/rotate"), "secret": "old-secret", "filter": {"w": "rotate"}},
        201,
    )
    new = api("POST", f"/v1/events/webhooks/{hook['id']}/secret/rotate", {}, 200)["secret"]
    event(stack, "overlap", w="rotate")
    [during] = wait_for(lambda: receiver.at("/rotate"))
    for secret, header in ((new, "X-Webhook-Signature"), ("old-secret", "X-Webhook-Signature-Previous")):
        assert verify(during.body, during.headers[header], secret) and node_verify(
            during.body, during.headers[header], secret
        )
        assert standard(secret).verify(during.body, during.headers)
    time.sleep(3.5)  # SecretOverlapSeconds=3 here
    event(stack, "after", w="rotate")
    wait_for(lambda: len(receiver.at("/rotate")) == 2)
    after = receiver.at("/rotate")[1]
    assert verify(after.body, after.headers["X-Webhook-Signature"], new)
    assert "X-Webhook-Signature-Previous" not in after.headers
    assert not verify(after.body, after.headers["X-Webhook-Signature"], "old-secret")
    with pytest.raises(Exception, match="No matching signature"):
        standard("old-secret").verify(after.body, after.headers)


def test_when_deliveries_fail_look_understand_recover(stack, api, receiver):
    url = receiver.behave("/flaky", status=500, body=b"database unavailable")
    hook = api("POST", "/v1/events/webhooks", {"event": "tool.executed", "url": url, "filter": {"w": "flaky"}}, 201)
    since = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 5))
    deliveries = f"/v1/events/webhooks/{hook['id']}/deliveries"
    for n in range(3):
        event(stack, f"down-{n}", w="flaky")
    seen = wait_for(lambda: [d["status"] for d in api("GET", deliveries)["deliveries"]] or None)
    assert set(seen) <= {"pending", "retrying", "dead"}
    wait_for(lambda: [d["status"] for d in api("GET", deliveries)["deliveries"]] == ["dead"] * 3, seconds=30)
    # Look, understand: every attempt with its status, latency and what the receiver said.
    one = api("GET", deliveries)["deliveries"][0]
    detail = api("GET", f"{deliveries}/{one['deliveryId']}", expect=200)
    assert [a["status"] for a in detail["attempts"]] == [500, 500, 500]
    assert all(a["responseExcerpt"] == "database unavailable" and a["latencyMs"] >= 0 for a in detail["attempts"])
    # Recover, once the receiver is healthy: each dead one exactly once, even when asked twice.
    receiver.behave("/flaky", status=200)
    assert api("POST", f"/v1/events/webhooks/{hook['id']}/recover", {"since": since}, 202)["queued"] == 3
    assert api("POST", f"/v1/events/webhooks/{hook['id']}/recover", {"since": since}, 202)["queued"] == 0
    wait_for(lambda: sorted(markers(receiver, "/flaky", accepted_only=True)) == ["down-0", "down-1", "down-2"])
    time.sleep(2)
    assert sorted(markers(receiver, "/flaky", accepted_only=True)) == ["down-0", "down-1", "down-2"]
    assert {d["status"] for d in api("GET", deliveries)["deliveries"]} == {"succeeded"}
    # Redeliver a succeeded one: the same X-Webhook-Id once more.
    before = len(receiver.at("/flaky"))
    api("POST", f"{deliveries}/{one['deliveryId']}/redeliver", None, 202)
    wait_for(lambda: len(receiver.at("/flaky")) == before + 1)
    assert receiver.at("/flaky")[-1].headers["X-Webhook-Id"] == one["deliveryId"]


def test_operators_list_redrive_and_purge_dead_letters(stack, api, receiver):
    url = receiver.behave("/dlq", status=503)
    api("POST", "/v1/events/webhooks", {"event": "tool.executed", "url": url, "filter": {"w": "dlq"}}, 201)
    event(stack, "to-the-dlq", w="dlq")
    listed = wait_for(
        lambda: (
            (done := stack.eventsapi("--local", "dlq", "list", "--queue", "delivery")).returncode == 0
            and "HTTP 503 after 3 attempts" in done.stdout
            and done
        ),
        seconds=30,
    )
    assert "user_123" in listed.stdout and "msg_" in listed.stdout
    receiver.behave("/dlq", status=200)
    moved = stack.eventsapi("--local", "dlq", "redrive", "--queue", "delivery")
    assert moved.returncode == 0 and "sent back to be posted" in moved.stdout, moved.stdout
    wait_for(lambda: "to-the-dlq" in markers(receiver, "/dlq", accepted_only=True))
    # This test's letter is gone (earlier tests' letters may come back: their receivers still refuse).
    left = stack.eventsapi("--local", "dlq", "list", "--queue", "delivery").stdout
    assert "HTTP 503 after 3 attempts" not in left, (moved.stdout, left)
    refused = subprocess.run(
        [*stack.eventsapi_command(), "--local", "dlq", "purge", "--queue", "events"],
        input="n\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 1 and "nothing deleted" in refused.stdout
    assert stack.eventsapi("--local", "dlq", "purge", "--queue", "events", "--yes").returncode == 0
