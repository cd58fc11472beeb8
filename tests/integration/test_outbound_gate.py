"""Every outbound post goes through the one gate (events_core.delivery.gate): a step's verdict holds
back an event's delivery and a test send alike, and a refusal is a recorded, counted failure."""

import pytest

from events_core.delivery import gate as outbound
from events_core.delivery.gate import OutboundContext, Purpose, Step, StepVerdict
from tests.integration.test_delivery_guarantees import DATA, deliver, one_delivery_message

WEBHOOKS = "/v1/events/webhooks"


class Holding(Step):
    """A step that stops every post with one verdict, and remembers what it was asked."""

    name = "holding"

    def __init__(self, verdict: StepVerdict):
        self.verdict = verdict
        self.asked: list[Purpose] = []

    def check(self, context: OutboundContext) -> StepVerdict | None:
        self.asked.append(context.purpose)
        return self.verdict


@pytest.fixture
def holding(monkeypatch):
    def install(verdict: StepVerdict) -> Holding:
        step = Holding(verdict)
        real = outbound.standard_steps
        monkeypatch.setattr(outbound, "standard_steps", lambda config: [step, *real(config)])
        return step

    return install


def test_a_deferral_holds_an_events_post_back_and_returns_its_message(pipeline, receiver, holding):
    step = holding(StepVerdict.defer(2**41, "rate slot taken"))
    pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    pipeline.publish("user_123", "tool.executed", DATA)
    body = one_delivery_message(pipeline)["Body"]
    assert deliver(pipeline, body) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert step.asked == [Purpose.EVENT] and receiver.received == []


def test_a_failing_step_returns_the_message_unposted(pipeline, receiver, holding):
    holding(StepVerdict.fail("budget table unreachable"))
    pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    pipeline.publish("user_123", "tool.executed", DATA)
    body = one_delivery_message(pipeline)["Body"]
    assert deliver(pipeline, body) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert receiver.received == []


def test_a_refusal_is_a_recorded_failed_attempt(make_pipeline, receiver, holding):
    holding(StepVerdict.refuse("receiver not verified"))
    pipeline = make_pipeline(RetrySchedule="0")
    hook = pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    pipeline.publish("user_123", "tool.executed", DATA)
    pipeline.pump()
    assert receiver.received == []
    assert [a["error"] for a in pipeline.attempts(hook["id"])] == ["receiver not verified"] * 2


def test_a_test_send_goes_through_the_gate(pipeline, receiver, holding):
    step = holding(StepVerdict.defer(2**41, "internal reason"))
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"))
    answer = pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/test", key=key)
    assert answer.status == 429 and answer.error["code"] == "throttled" and int(answer.headers["Retry-After"]) >= 1
    assert "holding" not in answer.error["message"] and "internal reason" not in answer.error["message"]
    assert step.asked == [Purpose.TEST] and receiver.received == [] and pipeline.records(hook["id"]) == []


def test_a_refused_test_send_is_answered_and_recorded_as_failed(pipeline, receiver, holding):
    holding(StepVerdict.refuse("receiver not verified"))
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"))
    answer = pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/test", key=key)
    assert (answer.status, answer.json["delivered"], answer.json["error"]) == (200, False, "receiver not verified")
    assert receiver.received == [] and len(pipeline.records(hook["id"])) == 1
