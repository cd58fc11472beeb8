"""API Gateway's access logs and CloudWatch Logs' subscriptions, locally (moto cannot invoke a
subscribed function without Docker).

The local gateway renders each request's line from the template's AccessLogSetting.Format, as API
Gateway does (an empty variable becomes "-"), into the stage's log group; the template's
AWS::Logs::SubscriptionFilter resources say which function each group is delivered to. Delivery
is CloudWatch Logs': gzip, base64, the `awslogs` envelope, a batch of lines per invocation, and a
failed invocation never fails the request that was logged.
"""

import contextlib
import itertools
import json
import logging
import re
import threading
import time
import uuid
from typing import Any

import boto3

from events_core.access_logs import awslogs_event
from eventsapi.local.invoke import LocalFunction
from eventsapi.local.template import Template

log = logging.getLogger("eventsapi.local.access_logs")

_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_.]+)")
MAX_BATCH = 1000  # log events per delivery; CloudWatch Logs sends up to about 1 MB at a time
MAX_DELIVERY_TRIES = 5  # a batch whose function failed is delivered again, as CloudWatch Logs retries


def render(log_format: str, context: dict[str, Any]) -> str:
    """The format with each $context variable filled in (JSON-escaped; "-" when empty)."""

    def fill(match: re.Match) -> str:
        value = context.get(match.group(1))
        return "-" if value is None or value == "" else json.dumps(str(value))[1:-1]

    return _VARIABLE.sub(fill, " ".join(log_format.split()))


def request_context(event: dict | None, method: str, path: str, status: int, latency_ms: int, stage: str) -> dict:
    """The $context variables of one request (those the formats in use name)."""
    context = (event or {}).get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    return {
        "requestId": context.get("requestId") or str(uuid.uuid4()),
        "identity.sourceIp": (context.get("identity") or {}).get("sourceIp"),
        "httpMethod": method,
        "path": context.get("path") or f"/{stage}{path}",
        "stage": stage,
        "status": status,
        "requestTimeEpoch": context.get("requestTimeEpoch") or int(time.time() * 1000),
        "responseLatency": latency_ms,
        "authorizer.developerId": authorizer.get("developerId"),
    }


class LogDelivery:
    """Lines written to subscribed log groups, handed to their functions. Synchronous (each line at
    once: tests and benchmarks) until `start` makes it a batching thread (eventsapi run)."""

    def __init__(self, template: Template, functions: dict[str, LocalFunction]):
        self.subscriptions: dict[str, LocalFunction] = {}
        for props in template.of_type("AWS::Logs::SubscriptionFilter").values():
            group = template.resolve(props["LogGroupName"])
            self.subscriptions[str(group)] = functions[template.logical_id_of(props["DestinationArn"])]
        self._pending: dict[str, list[tuple[str, int, str]]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._interval: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.delivered = 0
        self._watched: dict[str, tuple[Any, set[str]]] = {}
        self._failures: dict[str, int] = {}  # a failed batch's first line id → its tries so far

    def subscribe(self, log_group: str, function: LocalFunction) -> None:
        self.subscriptions[log_group] = function

    def watch(self, log_group: str, logs: Any) -> None:
        """Also deliver what others write to `log_group` in the emulator's CloudWatch Logs (the
        service-call client's group), read back every interval."""
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=log_group)
        self._watched[log_group] = (logs, set())

    def poll(self) -> int:
        """Deliver what was written to the watched groups since the last poll."""
        delivered = 0
        for group, (logs, seen) in self._watched.items():
            found = logs.filter_log_events(logGroupName=group, startTime=int(time.time() * 1000) - 3_600_000)
            lines = [
                (event["eventId"], event["timestamp"], event["message"])
                for event in found.get("events", [])
                if event["eventId"] not in seen
            ]
            seen.update(line[0] for line in lines)
            if lines:
                self._deliver(group, lines)
                delivered += len(lines)
        return delivered

    def write(self, log_group: str, message: str, at_ms: int | None = None) -> None:
        if log_group not in self.subscriptions:
            return
        # CloudWatch Logs' event ids are long decimal strings, unique per log event.
        line = (f"{time.time_ns()}{next(self._ids):012d}", at_ms or int(time.time() * 1000), message)
        if self._interval is None:
            self._deliver(log_group, [line])
            return
        with self._lock:
            self._pending.setdefault(log_group, []).append(line)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for group, lines in pending.items():
            for start in range(0, len(lines), MAX_BATCH):
                self._deliver(group, lines[start : start + MAX_BATCH])

    def _deliver(self, log_group: str, lines: list[tuple[str, int, str]]) -> None:
        try:
            self.subscriptions[log_group].invoke(awslogs_event(log_group, lines))
            self.delivered += len(lines)
        except Exception:  # the request was answered; its line is delivered again, as CloudWatch Logs does
            tries = self._failures.get(lines[0][0], 0) + 1
            if self._interval is None or tries > MAX_DELIVERY_TRIES:
                log.exception("access-log delivery to %s failed; %d line(s) dropped", log_group, len(lines))
                return
            log.warning("access-log delivery to %s failed (try %d); it is tried again", log_group, tries)
            self._failures[lines[0][0]] = tries
            with self._lock:
                self._pending.setdefault(log_group, [])[:0] = lines

    def start(self, interval: float = 0.25) -> None:
        self._interval = interval
        self._thread = threading.Thread(target=self._run, name="access-log-delivery", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval or 0.25):
            self.flush()
            try:
                self.poll()
            except Exception:  # the emulator may be going away; the next round tries again
                log.debug("watched log groups not read", exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.flush()


class StageAccessLogLine:
    """One API stage's access log: its format, stage and log group."""

    def __init__(self, log_format: str, stage: str, log_group: str, delivery: LogDelivery):
        self.format, self.stage, self.log_group, self.delivery = log_format, stage, log_group, delivery

    @classmethod
    def of(cls, template: Template, api_logical_id: str, delivery: LogDelivery) -> "StageAccessLogLine":
        """As the template declares the API's AccessLogSetting."""
        props = template.api_stage(api_logical_id)
        setting = template.resolve(props.get("AccessLogSetting") or {})
        destination = setting.get("DestinationArn")
        log_group = _log_group_of(str(destination)) if destination else ""
        stage = str(template.resolve(props.get("StageName", "prod")))
        return cls(str(setting.get("Format", "")), stage, log_group, delivery)

    def __call__(self, event: dict | None, method: str, path: str, status: int, latency_ms: int) -> None:
        if not self.format or not self.log_group:
            return
        context = request_context(event, method, path, status, latency_ms, self.stage)
        self.delivery.write(self.log_group, render(self.format, context), int(context["requestTimeEpoch"]))


def _log_group_of(arn: str) -> str:
    """arn:aws:logs:region:account:log-group:NAME[:*] → NAME."""
    return arn.split(":log-group:", 1)[-1].removesuffix(":*")


def wire_access_logs(template: Template, functions: dict[str, LocalFunction], gateway: Any) -> LogDelivery:
    """The stage's access log and the simulated platform API's, delivered as their subscriptions say."""
    from eventsapi.local.platform import attach_platform_api  # platform builds on this module

    delivery = LogDelivery(template, functions)
    gateway.access_log = StageAccessLogLine.of(template, gateway.api_logical_id, delivery)
    stage_group = gateway.access_log.log_group
    logs = boto3.client("logs", region_name=template.region)
    for group in [group for group in delivery.subscriptions if group != stage_group]:
        delivery.watch(group, logs)
    attach_platform_api(gateway, delivery)
    gateway.log_delivery = delivery
    return delivery
