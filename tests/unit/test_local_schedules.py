"""`eventsapi run` runs the template's Schedule events on a local timer."""

from eventsapi.local.schedules import ScheduleTimer, scheduled
from eventsapi.local.template import Template
from eventsapi.local.wiring import REGION, STACK_NAME, TEMPLATE


class Recording:
    def __init__(self, logical_id):
        self.spec = type("Spec", (), {"logical_id": logical_id})()
        self.events = []

    def invoke(self, event):
        self.events.append(event)


def test_the_retention_sweep_is_scheduled_and_the_timer_invokes_it():
    template = Template(TEMPLATE, stack_name=STACK_NAME, region=REGION)
    assert "SweepRetentionFunction" in scheduled(template)
    sweep = Recording("SweepRetentionFunction")
    timer = ScheduleTimer(template, {"SweepRetentionFunction": sweep}, every_seconds=0.05)  # type: ignore[dict-item]
    timer.start()
    try:
        import time

        deadline = time.monotonic() + 5
        while not sweep.events and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        timer.stop()
    assert sweep.events and sweep.events[0]["detail-type"] == "Scheduled Event"
