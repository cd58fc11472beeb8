"""On `make run`, as a new user would: a call to the simulated platform API (POST /v1/ai/chat, a
stage that is not this stack) appears in that developer's GET /v1/events/logs within seconds, with
the reference's fields, and in no one else's."""

import json
import time
import urllib.request

REFERENCE_FIELDS = {"_id", "userId", "endpoint", "method", "status", "timestamp", "responseTime"}


def call(stack, method: str, path: str, key: str, body: bytes | None = None) -> tuple[int, dict]:
    url = f"{stack.api_url}{path}"
    request = urllib.request.Request(url, data=body, method=method, headers={"X-API-Key": key})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - http to loopback
        return answer.status, json.loads(answer.read())


def other_developers_key(stack) -> str:
    created = stack.eventsapi("--local", "keys", "create", "--developer", "user_e2e_other", "--scopes", "read,write")
    assert created.returncode == 0, created.stderr
    return created.stdout.strip().splitlines()[-1]


def test_a_simulated_platform_call_shows_in_its_developers_logs_only(running_stack):
    status, answer = call(running_stack, "POST", "/v1/ai/chat", running_stack.key, b'{"message": "hi"}')
    assert status == 200 and answer["reply"]
    deadline = time.monotonic() + 10
    while True:
        logs = call(running_stack, "GET", "/v1/events/logs?endpoint=/v1/ai/chat", running_stack.key)[1]["logs"]
        if logs or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert logs, "the call never reached the logs"
    assert set(logs[0]) == REFERENCE_FIELDS
    assert (logs[0]["userId"], logs[0]["endpoint"], logs[0]["method"], logs[0]["status"]) == (
        "user_123",
        "/v1/ai/chat",
        "POST",
        200,
    )
    others = call(running_stack, "GET", "/v1/events/logs?endpoint=/v1/ai", other_developers_key(running_stack))[1]
    assert others == {"logs": [], "nextCursor": None}
