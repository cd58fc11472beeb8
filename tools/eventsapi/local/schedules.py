"""EventBridge schedules, locally: a timer per enabled scheduled rule of the transformed template,
invoking its function with the Scheduled Event AWS sends. moto keeps rules but fires none."""

import logging
import os
import re
import threading
import time
import uuid
from datetime import UTC, datetime

from eventsapi.local.invoke import LocalFunction
from eventsapi.local.template import ACCOUNT_ID, Template

log = logging.getLogger("eventsapi.local.schedules")

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
# A local run is minutes long: a schedule fires at least this often (make run shows a daily sweep at
# work); EVENTSAPI_SCHEDULE_SECONDS sets another bound (a test's few seconds, say).
LOCAL_MAX_INTERVAL_SECONDS = 60.0


def local_max_interval() -> float:
    return float(os.environ.get("EVENTSAPI_SCHEDULE_SECONDS") or LOCAL_MAX_INTERVAL_SECONDS)


def interval_seconds(expression: str) -> float:
    """rate(N unit) in seconds; cron(...) runs every minute locally (its fields are not evaluated)."""
    found = _RATE.fullmatch(expression.strip())
    if found:
        return int(found.group(1)) * _UNIT_SECONDS[found.group(2).rstrip("s")]
    if expression.startswith("cron("):
        return 60.0
    raise ValueError(f"unsupported schedule expression {expression!r}")


def scheduled_event(rule_arn: str, region: str, account: str) -> dict:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


class Schedule:
    def __init__(self, rule_arn: str, every: float, function: LocalFunction, region: str, account: str):
        self.rule_arn, self.every, self.function = rule_arn, every, function
        self.region, self.account = region, account
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"schedule-{function.spec.logical_id}", daemon=True)
        self.fired = 0

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            started = time.monotonic()
            try:
                self.function.invoke(scheduled_event(self.rule_arn, self.region, self.account))
            except Exception:  # as EventBridge: a failed invocation never stops the schedule
                log.exception("scheduled invocation of %s failed", self.function.spec.logical_id)
            self.fired += 1
            log.debug("%s ran in %.0f ms", self.function.spec.logical_id, (time.monotonic() - started) * 1000)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def schedules(
    template: Template, functions: dict[str, LocalFunction], max_interval: float | None = None
) -> list[Schedule]:
    """The template's scheduled rules as timers (not yet started)."""
    max_interval = max_interval or local_max_interval()
    return [
        Schedule(
            rule_arn=template.physical[rule].attributes.get("Arn", rule),
            every=min(interval_seconds(expression), max_interval),
            function=functions[function],
            region=template.region,
            account=ACCOUNT_ID,
        )
        for rule, expression, function in template.schedules()
    ]
