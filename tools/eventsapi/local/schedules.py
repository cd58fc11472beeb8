"""The template's Schedule events, run locally by a timer: each function with a `Schedule` event is
invoked with a scheduled event every `EVENTSAPI_SCHEDULE_SECONDS` (default 60), whatever its rate,
so what runs daily on AWS is seen working within a minute of `eventsapi run`."""

import logging
import os
import threading
from datetime import UTC, datetime
from typing import Any

from eventsapi.local.invoke import LocalFunction
from eventsapi.local.template import Template

log = logging.getLogger("eventsapi.local")


def scheduled(template: Template) -> list[str]:
    """Logical ids of the functions with a Schedule event."""
    return [
        logical_id
        for logical_id, props in template.of_type("AWS::Serverless::Function").items()
        if any(event.get("Type") == "Schedule" for event in (props.get("Events") or {}).values())
    ]


def scheduled_event(logical_id: str, region: str) -> dict[str, Any]:
    return {
        "version": "0",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"local:{logical_id}"],
        "detail": {},
    }


class ScheduleTimer:
    def __init__(self, template: Template, functions: dict[str, LocalFunction], every_seconds: float | None = None):
        self.targets = [functions[logical_id] for logical_id in scheduled(template) if logical_id in functions]
        self.region = template.region
        self.every = every_seconds or float(os.environ.get("EVENTSAPI_SCHEDULE_SECONDS", "60"))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="local-schedules", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            for function in self.targets:
                try:
                    function.invoke(scheduled_event(function.spec.logical_id, self.region))
                except Exception:  # a failed run is logged and the timer goes on, as on AWS
                    log.exception("scheduled invocation of %s failed", function.spec.logical_id)

    def start(self) -> None:
        if self.targets:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
