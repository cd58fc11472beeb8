"""A new user's walk: the reference's curl examples, verbatim but for host and key, against `make run`."""

import json
import subprocess
import time

from events_core.event_types import EVENT_TYPES

REFERENCE_HOST = "https://api.invoratec.cn"

CREATE = """curl -X POST https://api.invoratec.cn/v1/events/webhooks \\
  -H "X-API-Key: claw_xxxx" \\
  -H "Content-Type: application/json" \\
  -d '{
    "event": "workflow.completed",
    "url": "https://my-server.com/webhooks/workflow",
    "secret": "my-webhook-secret",
    "filter": {}
  }'"""
LIST = """curl https://api.invoratec.cn/v1/events/webhooks \\
  -H "X-API-Key: claw_xxxx\""""
DELETE = """curl -X DELETE https://api.invoratec.cn/v1/events/webhooks/665f... \\
  -H "X-API-Key: claw_xxxx\""""
TYPES = """curl https://api.invoratec.cn/v1/events/types \\
  -H "X-API-Key: claw_xxxx\""""
LOGS = """curl "https://api.invoratec.cn/v1/events/logs?limit=50" \\
  -H "X-API-Key: claw_xxxx\""""


def run_curl(stack, command: str, webhook_id: str = "665f...") -> dict:
    command = command.replace(REFERENCE_HOST, stack.api_url).replace("claw_xxxx", stack.key)
    command = command.replace("665f...", webhook_id)
    done = subprocess.run(["bash", "-c", command + " -sS"], capture_output=True, text=True, timeout=30, check=True)
    return json.loads(done.stdout)


def test_the_reference_walkthrough(running_stack):
    created = run_curl(running_stack, CREATE)
    assert created["event"] == "workflow.completed" and created["developerId"] == "user_123"
    assert created["enabled"] is True and created["failCount"] == 0 and created["lastTriggered"] is None

    listed = run_curl(running_stack, LIST)
    assert created["id"] in [hook["_id"] for hook in listed["webhooks"]]
    assert listed["eventTypes"] == list(EVENT_TYPES)

    assert run_curl(running_stack, TYPES) == {"eventTypes": list(EVENT_TYPES)}

    assert run_curl(running_stack, DELETE, webhook_id=created["id"]) == {"success": True}

    # Calls reach the logs through the stage's access log, delivered in batches within seconds.
    deadline = time.monotonic() + 30  # a busy machine delays the batches; they are never dropped
    while True:  # (the reads below are logged too: they are left out)
        logs = [log for log in run_curl(running_stack, LOGS)["logs"] if log["endpoint"] != "/v1/events/logs"]
        if (logs and logs[0]["method"] == "DELETE") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [(log["method"], log["endpoint"]) for log in logs[:4]] == [
        ("DELETE", f"/v1/events/webhooks/{created['id']}"),
        ("GET", "/v1/events/types"),
        ("GET", "/v1/events/webhooks"),
        ("POST", "/v1/events/webhooks"),
    ]


def test_every_request_is_one_readable_line(running_stack):
    run_curl(running_stack, TYPES)
    assert any("GET /v1/events/types → 200  ListEventTypesFunction" in line for line in running_stack.output)


def test_key_management_against_the_local_stack(running_stack):
    created = running_stack.eventsapi("--local", "keys", "create", "--developer", "dev_cli", "--scopes", "read")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("claw_")
    listed = running_stack.eventsapi("--local", "keys", "list", "--developer", "dev_cli")
    key_id = listed.stdout.split()[0]
    assert key_id.startswith("key_")

    types = subprocess.run(
        ["curl", "-sS", "-H", f"X-API-Key: {key}", f"{running_stack.api_url}/v1/events/types"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(types.stdout) == {"eventTypes": list(EVENT_TYPES)}

    revoked = running_stack.eventsapi("--local", "keys", "revoke", "--developer", "dev_cli", key_id)
    assert revoked.returncode == 0, revoked.stderr
    assert running_stack.eventsapi("--local", "keys", "list", "--developer", "dev_cli").stdout.strip() == ""


def test_keys_need_a_target(running_stack):
    refused = running_stack.eventsapi("keys", "list", "--developer", "x")
    assert refused.returncode != 0
    assert "--local" in refused.stderr
