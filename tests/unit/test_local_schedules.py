"""`eventsapi run` runs the template's scheduled rules (a Schedule event, once transformed) on a local timer."""

import threading

from eventsapi.local.schedules import schedules
from eventsapi.local.template import Physical, Template
from eventsapi.local.wiring import REGION, STACK_NAME, TEMPLATE


class Recording:
    def __init__(self, logical_id):
        self.spec = type("Spec", (), {"logical_id": logical_id})()
        self.events = []
        self.called = threading.Event()

    def invoke(self, event):
        self.events.append(event)
        self.called.set()


def test_the_retention_sweep_is_scheduled_and_the_timer_invokes_it():
    template = Template(TEMPLATE, stack_name=STACK_NAME, region=REGION)
    found = {function: rule for rule, _, function in template.schedules()}
    assert "SweepRetentionFunction" in found
    rule = found["SweepRetentionFunction"]
    template.physical[rule] = Physical(rule, {"Arn": f"arn:aws:events:{REGION}:123456789012:rule/{rule}"})
    sweep = Recording("SweepRetentionFunction")
    (timer,) = schedules(template, {"SweepRetentionFunction": sweep}, max_interval=0.05)  # type: ignore[dict-item]
    timer.start()
    try:
        assert sweep.called.wait(5)
    finally:
        timer.stop()
    assert sweep.events[0]["detail-type"] == "Scheduled Event"
