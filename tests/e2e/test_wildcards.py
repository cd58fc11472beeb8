"""On `eventsapi run`, from the terminal: `eventsapi webhooks create --event 'workflow.*'` and
`--event '*'`; three events sent; each webhook gets exactly its types, posts carry the real type
and verify with the reference's snippet; `nosuch.*` is refused."""

import json
import time

from eventsapi.harness.receiver import Receiver
from tests.reference.verify import verify

SECRET = "wildcard-secret"


def test_family_and_every_type_webhooks_from_the_terminal(running_stack, monkeypatch):
    monkeypatch.setenv("EVENTS_API_KEY", running_stack.key)
    with Receiver() as receiver:
        ids = []
        for path, pattern in (("/family", "workflow.*"), ("/every", "*")):
            created = running_stack.eventsapi(
                "webhooks", "create", "--event", pattern, "--url", receiver.url(path), "--secret", SECRET, "--json"
            )
            assert created.returncode == 0, created.stderr
            assert json.loads(created.stdout)["event"] == pattern
            ids.append(json.loads(created.stdout)["id"])
        refused = running_stack.eventsapi("webhooks", "create", "--event", "nosuch.*", "--url", receiver.url("/no"))
        assert refused.returncode != 0 and "nosuch.*" in refused.stderr and "workflow.*" in refused.stderr

        for event_type in ("workflow.failed", "workflow.completed", "tool.failed"):
            sent = running_stack.eventsapi("events", "send", event_type, "--developer", "user_123")
            assert sent.returncode == 0, sent.stderr
        deadline = time.monotonic() + 30
        while (len(receiver.at("/family")), len(receiver.at("/every"))) != (2, 3) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # nothing more arrives
        got = {
            path: sorted(json.loads(post.body)["event"] for post in receiver.at(path)) for path in ("/family", "/every")
        }
        assert got == {
            "/family": ["workflow.completed", "workflow.failed"],
            "/every": ["tool.failed", "workflow.completed", "workflow.failed"],
        }
        for post in receiver.received:
            assert post.headers["X-Webhook-Event"] == json.loads(post.body)["event"]
            assert verify(post.body, post.headers["X-Webhook-Signature"], SECRET)
        for hook_id in ids:
            assert running_stack.eventsapi("webhooks", "delete", hook_id).returncode == 0
