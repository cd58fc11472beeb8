"""The event contract on `make run`, as a new user would try it: the catalogue over HTTP, the same
validator answering valid / invalid at /toolName, an incomplete put-events delivered under the
default `warn` and dead-lettered with its errors under `reject`, and one event put twice with one
idempotency key (`eventsapi events send`, two EventBridge ids) reaching a receiver once."""

import json
import time

import pytest
import requests

from eventsapi.harness.receiver import Receiver
from tests.client import wait_for
from tests.e2e.conftest import start_stack, stop_stack
from tests.e2e.test_delivery_walkthrough import put_event

pytestmark = pytest.mark.e2e
INCOMPLETE = {"toolName": "erp_get_inventory", "elapsed_ms": 230}  # no input, no result


def call(stack, method: str, path: str, body: dict | None = None) -> requests.Response:
    return requests.request(method, f"{stack.api_url}{path}", json=body, headers={"X-API-Key": stack.key}, timeout=60)


def register(stack, url: str, **fields) -> dict:
    answer = call(stack, "POST", "/v1/events/webhooks", {"event": "tool.executed", "url": url, **fields})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_the_catalogue_and_its_validator_over_http(running_stack):
    declared = call(running_stack, "GET", "/v1/events/types/tool.executed").json()
    assert declared["schema"]["required"] == ["toolName", "input", "result", "elapsed_ms"]
    example = declared["example"]
    valid = call(running_stack, "POST", "/v1/events/types/tool.executed/validate", {"data": example}).json()
    assert valid == {"valid": True, "errors": []}
    del example["toolName"]
    invalid = call(running_stack, "POST", "/v1/events/types/tool.executed/validate", {"data": example}).json()
    assert invalid["valid"] is False and [e["path"] for e in invalid["errors"]] == ["/toolName"]
    assert call(running_stack, "GET", "/v1/events/types/tool.nope").status_code == 404


def test_eventsapi_events_validate_says_the_same(running_stack):
    done = running_stack.eventsapi("events", "validate", "tool.executed", "--data", json.dumps(INCOMPLETE))
    assert done.returncode == 1
    assert "/input: is a required field" in done.stdout and "/result: is a required field" in done.stdout
    assert running_stack.eventsapi("events", "validate", "tool.executed").stdout.strip() == "valid"


def test_warn_the_default_delivers_an_incomplete_event(running_stack):
    with Receiver() as receiver:
        register(running_stack, receiver.url("/warned"), filter={"case": "warn"})
        put_event(running_stack, {"developerId": "user_123", "data": {**INCOMPLETE, "case": "warn"}})
        [post] = wait_for(lambda: receiver.at("/warned"))
        assert json.loads(post.body)["data"]["case"] == "warn"


def test_one_idempotency_key_sent_twice_reaches_the_receiver_once(running_stack):
    with Receiver() as receiver:
        register(running_stack, receiver.url("/once"), filter={"case": "once"})
        data = json.dumps({**json.loads(call(running_stack, "GET", "/v1/events/types/tool.executed").text)["example"],
                           "case": "once"})  # fmt: skip
        ids = []
        for _ in range(2):
            sent = running_stack.eventsapi(
                "events", "send", "tool.executed", "--developer", "user_123", "--data", data,
                "--idempotency-key", "order-42:inventory",
            )  # fmt: skip
            assert sent.returncode == 0, sent.stderr
            ids.append(sent.stdout.strip().rsplit(" ", 1)[-1])
            time.sleep(1.1)  # another second: another EventBridge time as well as another id
        assert ids[0] != ids[1]
        wait_for(lambda: receiver.at("/once"))
        time.sleep(2)
        assert len(receiver.at("/once")) == 1, "one delivery"


def test_eventsapi_events_send_refuses_invalid_data_before_publishing(running_stack):
    sent = running_stack.eventsapi(
        "events", "send", "tool.executed", "--developer", "user_123", "--data", json.dumps(INCOMPLETE)
    )
    assert sent.returncode == 1 and "/input" in sent.stderr and "not sent" in sent.stderr


@pytest.fixture(scope="module")
def rejecting():
    stack = start_stack("SchemaEnforcement=reject")
    yield stack
    stop_stack(stack)


def test_reject_rests_an_incomplete_event_in_the_events_dead_letter_queue(rejecting):
    with Receiver() as receiver:
        register(rejecting, receiver.url("/rejected"))
        put_event(rejecting, {"developerId": "user_123", "data": INCOMPLETE})

        def listed() -> str:
            done = rejecting.eventsapi("--local", "dlq", "list", "--queue", "events")
            return done.stdout if "schema:" in done.stdout else ""

        letters = wait_for(listed)
        assert "data does not match the tool.executed schema" in letters and "/input" in letters
        assert receiver.at("/rejected") == []
