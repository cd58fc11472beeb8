"""Ordered delivery on `eventsapi run` (what `make run` starts), from the terminal: 50 events of 5
workflows sent with `--sequence` in a shuffled order within the window reach the receiver in
sequence per workflow; a `block` key shows in the ordering route and resumes after skip."""

import json
import random
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest

from eventsapi.harness.receiver import Behaviour, Receiver
from tests.e2e.conftest import start_stack, stop_stack

WINDOW_MS = 45_000  # a round of shuffled sends (CLI processes, ten at a time) lands within it, on a busy machine too


def _send(running_stack, workflow: str, n: int) -> None:
    data = json.dumps(
        {
            "workflowId": workflow,
            "workflowName": "e2e",
            "runId": f"run-{n}",
            "status": "completed",
            "stepResults": [],
            "n": n,
        }
    )
    sent = running_stack.eventsapi(
        "events", "send", "workflow.completed", "--developer", "user_123", "--data", data, "--sequence", str(n)
    )
    assert sent.returncode == 0, sent.stderr


def _create(running_stack, url: str, *extra: str) -> str:
    created = running_stack.eventsapi(
        "webhooks", "create", "--event", "workflow.completed", "--url", url, "--order-by", "workflowId", *extra,
        "--json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    hook = json.loads(created.stdout)
    assert hook["ordering"]["by"] == "workflowId"
    return hook["id"]


def _accepted(receiver: Receiver, path: str) -> dict[str, list[int]]:
    found: dict[str, list[int]] = defaultdict(list)
    for post in receiver.at(path):
        if post.accepted:
            data = json.loads(post.body)["data"]
            found[data["workflowId"]].append(data["n"])
    return dict(found)


def _wait(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.3)


@pytest.fixture(scope="module")
def running_stack():
    """Its own stack: two quick retries, so a failing head runs out of attempts within the test."""
    stack = start_stack("RetrySchedule=1,1")
    yield stack
    stop_stack(stack)


def test_shuffled_events_arrive_in_sequence_per_workflow_and_a_blocked_key_resumes_after_skip(
    running_stack, monkeypatch
):
    monkeypatch.setenv("EVENTS_API_KEY", running_stack.key)

    def decide(body: bytes) -> Behaviour:
        data = json.loads(body)["data"]
        return Behaviour(status=500) if (data["workflowId"], data["n"]) == ("wf-block", 1) else Behaviour()

    with Receiver() as receiver:
        ordered = _create(running_stack, receiver.url("/ordered"), "--order-window-ms", str(WINDOW_MS))
        blocking = _create(
            running_stack, receiver.behave_by_body("/blocking", decide), "--order-window-ms", "1000",
            "--on-failure", "block",
        )  # fmt: skip
        # Five rounds of ten sends at once (CLI processes), each round two sequences of every workflow in
        # a shuffled order: each round lands well within the window, which puts it back in order.
        shuffler = random.Random(35)
        for first in range(1, 11, 2):
            sends = [(f"wf-{w}", n) for w in range(5) for n in (first, first + 1)]
            shuffler.shuffle(sends)
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=10) as pool:
                list(pool.map(lambda pair: _send(running_stack, *pair), sends))
            print(
                f"round of 10 shuffled sends took {time.monotonic() - started:.1f} s (window {WINDOW_MS / 1000:.0f} s)"
            )
        for n in (1, 2, 3):
            _send(running_stack, "wf-block", n)

        expected = {f"wf-{w}": list(range(1, 11)) for w in range(5)}

        def workflows() -> dict[str, list[int]]:  # the 50 (the wf-block events reach this webhook too)
            return {key: ns for key, ns in _accepted(receiver, "/ordered").items() if key in expected}

        _wait(lambda: sum(map(len, workflows().values())) >= 50, WINDOW_MS / 1000 + 60)
        assert workflows() == expected
        assert not [p for p in receiver.at("/ordered") if p.headers.get("X-Webhook-Out-Of-Order")]
        assert {p.headers["X-Webhook-Ordering-Key"] for p in receiver.at("/ordered")} - {"%22wf-block%22"} == {
            f"%22wf-{w}%22" for w in range(5)
        }

        def blocked() -> list[dict]:
            listed = running_stack.eventsapi("webhooks", "ordering", blocking, "--json")
            assert listed.returncode == 0, listed.stderr
            return json.loads(listed.stdout)["blocked"]

        _wait(lambda: any(b["key"] == '"wf-block"' for b in blocked()), 60)
        [key] = [b for b in blocked() if b["key"] == '"wf-block"']
        assert key["headDeliveryId"].startswith("msg_")
        assert "wf-block" not in _accepted(receiver, "/blocking")  # held behind the dead head
        skipped = running_stack.eventsapi("webhooks", "skip-key", blocking, '"wf-block"')
        assert skipped.returncode == 0, skipped.stderr
        _wait(lambda: _accepted(receiver, "/blocking").get("wf-block") == [2, 3], 30)
        assert _accepted(receiver, "/blocking").get("wf-block") == [2, 3]
        assert blocked() == []
        for hook_id in (ordered, blocking):
            assert running_stack.eventsapi("webhooks", "delete", hook_id).returncode == 0
