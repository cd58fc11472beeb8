"""Publishing platform events for developers, as the Events API stack reads them: EventBridge
entries with Source = the stack's EventSource, DetailType = the event type, and Detail =
{developerId, data, idempotencyKey?, timestamp?, subjects?, traceparent?, tracestate?}.

Every event's data is checked against its type's schema before anything is sent (the stack's own
catalogue and validator, shipped in this package), so a producer learns of a mistake at once
rather than from a dead-letter queue. PutEvents takes at most 10 entries and 256 KB a call; an
entry EventBridge refuses (throttling, an internal error) is sent again, with back-off, up to
`attempts` times, and what still fails is raised with EventBridge's reasons.

An idempotency key (1-128 printable ASCII characters, no spaces) makes publishing safe to repeat:
the stack delivers the events of one developer with one key, within 24 hours, once, under the
first one's id — so retrying a PutEvents call that timed out never reaches a receiver twice.

Subjects: the people an event concerns (`subjects=["user:42"]`, at most 20 strings of at most 200
characters), so that an operator can later erase everything the stack keeps about one of them.

Trace context: an event published inside an OpenTelemetry trace carries the caller's W3C context
(`detail.traceparent`, `detail.tracestate`, read through OpenTelemetry's propagator when the
producer has opentelemetry-api installed), and every post of it to a receiver continues that
trace. An Event may also name its context itself; one without any starts a trace in the stack.
"""

import json
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .catalogue import find, names
from .catalogue.publishing import idempotency_key_problem, subjects_problem
from .catalogue.validation import SchemaError, summary, validate

DEFAULT_SOURCE = "cn.invoratec.platform"
# A local stack (`make run` / `eventsapi run`): where its AWS emulator is and the bus it creates.
LOCAL_EMULATOR_URL_ENV = "EVENTS_EMULATOR_URL"  # what the run's banner exports
LOCAL_EMULATOR_URL = "http://127.0.0.1:5000"
LOCAL_BUS = "platform-events"
LOCAL_REGION = "us-east-1"
MAX_BATCH = 10  # PutEvents' limit on entries per call
MAX_CALL_BYTES = 256 * 1024  # and on the size of one call
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-[ -~]{0,200})?")


@dataclass(frozen=True)
class Event:
    event_type: str
    developer_id: str
    data: dict[str, Any]
    idempotency_key: str | None = None
    timestamp: str | None = None  # ISO-8601; default: the time EventBridge receives it
    traceparent: str | None = None  # W3C; default: the caller's current context (OpenTelemetry)
    tracestate: str | None = None
    subjects: tuple[str, ...] | list[str] | None = None  # the people it concerns ("user:42"): erasure finds it by them
    sequence: int | None = None  # the producer's order within an ordered webhook's key (0 to 2^63-1)


MAX_SEQUENCE = 2**63 - 1


class InvalidEventData(ValueError):
    """An event that would not be accepted: unknown type, no developer, data against its schema."""

    def __init__(self, message: str, errors: Sequence[SchemaError] = (), index: int | None = None):
        super().__init__(message)
        self.errors = list(errors)
        self.index = index


class PublishFailed(RuntimeError):
    """Entries EventBridge still refused after every attempt: (event, error code, message) each."""

    def __init__(self, failed: list[tuple[Event, str, str]]):
        first = failed[0]
        super().__init__(f"{len(failed)} event(s) not published; first: {first[1]}: {first[2]}")
        self.failed = failed


def check(event: Event) -> None:
    """Raise InvalidEventData unless the stack would accept `event` as it is."""
    if find(event.event_type) is None:
        raise InvalidEventData(f"unknown event type {event.event_type!r}; one of {', '.join(names())}")
    if not isinstance(event.developer_id, str) or not event.developer_id.strip():
        raise InvalidEventData("developer_id is required")
    problem = None if event.idempotency_key is None else idempotency_key_problem(event.idempotency_key)
    if problem:
        raise InvalidEventData(f"idempotency_key {problem}")
    problem = None if event.subjects is None else subjects_problem(list(event.subjects))
    if problem:
        raise InvalidEventData(f"subjects {problem}")
    if event.traceparent is not None and not (
        isinstance(event.traceparent, str) and _TRACEPARENT.fullmatch(event.traceparent)
    ):
        raise InvalidEventData("traceparent must be a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)")
    if event.sequence is not None and (
        not isinstance(event.sequence, int)
        or isinstance(event.sequence, bool)
        or not 0 <= event.sequence <= MAX_SEQUENCE
    ):
        raise InvalidEventData(f"sequence must be an integer from 0 to {MAX_SEQUENCE}")
    if not isinstance(event.data, dict):
        raise InvalidEventData("data must be a JSON object")
    errors = validate(event.event_type, event.data)
    if errors:
        raise InvalidEventData(f"data does not match the {event.event_type} schema: {summary(errors)}", errors)


def entry(event: Event, bus: str, source: str = DEFAULT_SOURCE) -> dict[str, str]:
    """The PutEvents entry of one event."""
    detail: dict[str, Any] = {"developerId": event.developer_id, "data": event.data}
    if event.idempotency_key is not None:
        detail["idempotencyKey"] = event.idempotency_key
    if event.timestamp is not None:
        detail["timestamp"] = event.timestamp
    if event.subjects:
        detail["subjects"] = list(event.subjects)
    if event.sequence is not None:
        detail["sequence"] = event.sequence
    if event.traceparent is not None:
        detail["traceparent"] = event.traceparent
        if event.tracestate:
            detail["tracestate"] = event.tracestate
    return {
        "EventBusName": bus,
        "Source": source,
        "DetailType": event.event_type,
        "Detail": json.dumps(detail, ensure_ascii=False, separators=(",", ":")),
    }


def current_trace_context() -> dict[str, str]:
    """The caller's current W3C context ({traceparent, tracestate?}), as OpenTelemetry's global
    propagator writes it; {} outside a trace or without opentelemetry-api."""
    try:
        from opentelemetry import propagate
    except ImportError:
        return {}
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {name: carrier[name] for name in ("traceparent", "tracestate") if carrier.get(name)}


def in_current_trace(event: Event) -> Event:
    """`event` carrying the caller's current trace context, unless it names one itself."""
    if event.traceparent is not None:
        return event
    found = current_trace_context()
    if "traceparent" not in found:
        return event
    return replace(event, traceparent=found["traceparent"], tracestate=found.get("tracestate"))


def _size(item: dict[str, str]) -> int:
    return sum(len(value.encode()) for value in item.values())


def batches(entries: list[dict[str, str]]) -> list[list[int]]:
    """Indexes of `entries`, grouped into PutEvents calls (≤ 10 entries, ≤ 256 KB each)."""
    grouped: list[list[int]] = []
    size = 0
    for index, item in enumerate(entries):
        if not grouped or len(grouped[-1]) == MAX_BATCH or size + _size(item) > MAX_CALL_BYTES:
            grouped.append([])
            size = 0
        grouped[-1].append(index)
        size += _size(item)
    return grouped


class Publisher:
    def __init__(
        self,
        bus: str,
        *,
        source: str = DEFAULT_SOURCE,
        client: Any = None,
        attempts: int = 5,
        backoff_seconds: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if client is None:
            import boto3

            client = boto3.client("events")
        self.bus, self.source, self.client = bus, source, client
        self.attempts, self.backoff_seconds, self.sleep = attempts, backoff_seconds, sleep

    @classmethod
    def local(cls, endpoint_url: str | None = None, *, bus: str = LOCAL_BUS, **options: Any) -> "Publisher":
        """The bus of a local stack: its emulator at `endpoint_url`, else $EVENTS_EMULATOR_URL (the
        run's banner exports it), else make run's default; with the emulator's dummy credentials,
        never the AWS account the shell is set up for."""
        if "client" not in options:
            import boto3

            url = endpoint_url or os.environ.get(LOCAL_EMULATOR_URL_ENV) or LOCAL_EMULATOR_URL
            session = boto3.Session(
                aws_access_key_id="testing",
                aws_secret_access_key="testing",  # noqa: S106 - the emulator's dummy, never a real one
                region_name=LOCAL_REGION,
            )
            options["client"] = session.client("events", endpoint_url=url)
        return cls(bus, **options)

    @classmethod
    def from_stack(cls, stack_name: str, *, session: Any = None, **options: Any) -> "Publisher":
        """The bus and source of a deployed Events API stack (its EventBusName output and its
        EventSource parameter)."""
        if session is None:
            import boto3

            session = boto3.Session()
        stack = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
        outputs = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}
        parameters = {item["ParameterKey"]: item.get("ParameterValue") for item in stack.get("Parameters", [])}
        options.setdefault("client", session.client("events"))
        return cls(outputs["EventBusName"], source=parameters.get("EventSource") or DEFAULT_SOURCE, **options)

    def publish(
        self,
        event_type: str,
        developer_id: str,
        data: dict[str, Any],
        *,
        idempotency_key: str | None = None,
        timestamp: str | None = None,
        traceparent: str | None = None,
        tracestate: str | None = None,
        subjects: Iterable[str] | None = None,
        sequence: int | None = None,
    ) -> str:
        """Publish one event; its EventBridge id. `sequence`: its order within its key, for
        webhooks that deliver in order (`ordering`)."""
        event = Event(
            event_type,
            developer_id,
            data,
            idempotency_key,
            timestamp,
            traceparent,
            tracestate,
            None if subjects is None else tuple(subjects),
            sequence,
        )
        check(event)  # one event: its faults without a batch's "event 0:" in front
        [event_id] = self.publish_all([event])
        return event_id

    def publish_all(self, events: Iterable[Event]) -> list[str]:
        """Publish every event (all are checked before any is sent); their EventBridge ids, in order."""
        pending = [in_current_trace(event) for event in events]
        for index, event in enumerate(pending):
            try:
                check(event)
            except InvalidEventData as invalid:
                raise InvalidEventData(f"event {index}: {invalid}", invalid.errors, index) from None
        entries = [entry(event, self.bus, self.source) for event in pending]
        ids: list[str | None] = [None] * len(entries)
        failures: dict[int, tuple[str, str]] = {}
        for group in batches(entries):
            waiting = group
            for attempt in range(self.attempts):
                if attempt:
                    self.sleep(self.backoff_seconds * 2 ** (attempt - 1))
                answer = self.client.put_events(Entries=[entries[index] for index in waiting])
                refused = []
                for index, result in zip(waiting, answer["Entries"], strict=True):
                    if result.get("EventId"):
                        ids[index] = result["EventId"]
                        failures.pop(index, None)
                    else:
                        refused.append(index)
                        failures[index] = (result.get("ErrorCode", "?"), result.get("ErrorMessage", ""))
                waiting = refused
                if not waiting:
                    break
        if failures:
            raise PublishFailed([(pending[index], *failures[index]) for index in sorted(failures)])
        return [event_id or "" for event_id in ids]
