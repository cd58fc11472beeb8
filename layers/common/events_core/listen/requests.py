"""Parsing the listen routes' bodies and query parameters."""

import base64
import re
from dataclasses import dataclass
from typing import Any

from events_core import event_patterns
from events_core.errors import BadRequest
from events_core.event_types import EVENT_TYPES
from events_core.webhooks.filters import validate_filter
from events_core.webhooks.requests import known_fields

MAX_WAIT_SECONDS = 20  # inside API Gateway's 29 s integration limit
MAX_LIMIT = 50
MAX_EXCERPT = 1024
MAX_ERROR = 512
MAX_LATENCY_MS = 3_600_000


# A client-chosen session secret, in the Standard Webhooks form: "whsec_" and the base64 of 24 to
# 64 random bytes (what `eventsapi listen` keeps, so a receiver's secret survives restarts).
WHSEC_PREFIX = "whsec_"
WHSEC_BYTES = (24, 64)
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")


@dataclass(frozen=True)
class Opening:
    events: tuple[str, ...]
    filter: dict
    secret: str | None = None


@dataclass(frozen=True)
class Answered:
    status: int | None
    latency_ms: int
    body: str
    error: str | None


@dataclass(frozen=True)
class Trigger:
    event: str
    data: dict | None


def _object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise BadRequest("body: must be a JSON object")
    return body


def _event(value: Any, field: str) -> str:
    if not isinstance(value, str) or value not in EVENT_TYPES:
        shown = value[:64] if isinstance(value, str) else value
        raise BadRequest(f"{field}: unknown event type {shown!r}; one of {', '.join(EVENT_TYPES)}", field=field)
    return value


def _subscribed(value: Any) -> str:
    """One of a session's `events`: a type, `"<namespace>.*"` or `"*"`, as webhooks take."""
    if not isinstance(value, str):
        raise BadRequest(
            f"events: unknown event type {repr(value)[:64]}; one of {', '.join(EVENT_TYPES)}", field="events"
        )
    return event_patterns.parse(value, "events")


def _integer(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise BadRequest(f"{field}: must be an integer from {low} to {high}", field=field)
    return value


def whsec_key(secret: str) -> bytes | None:
    """The key bytes of a `whsec_` secret (what Standard Webhooks libraries sign with), or None
    when `secret` is not one."""
    encoded = secret.removeprefix(WHSEC_PREFIX)
    if encoded == secret or len(encoded) > 100 or len(encoded) % 4 or not _BASE64.fullmatch(encoded):
        return None
    key = base64.b64decode(encoded)
    return key if WHSEC_BYTES[0] <= len(key) <= WHSEC_BYTES[1] else None


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or whsec_key(value) is None:
        low, high = WHSEC_BYTES
        raise BadRequest(
            f"secret: must be {WHSEC_PREFIX} followed by the base64 of {low} to {high} random bytes "
            f"(leave it out and the service generates one)",
            field="secret",
        )
    return value


def parse_opening(body: Any) -> Opening:
    body = _object(body)
    known_fields(body, ("events", "filter", "secret"))
    events = body.get("events")
    if events is None:
        events = []
    if not isinstance(events, list):  # an empty object is not an empty list
        raise BadRequest("events: must be a list of event types", field="events")
    chosen = tuple(dict.fromkeys(_subscribed(event) for event in events))
    return Opening(events=chosen, filter=validate_filter(body.get("filter")), secret=_secret(body.get("secret")))


def parse_wait(raw: str | None) -> int:
    if raw is None:
        return MAX_WAIT_SECONDS
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 3) or int(raw) > MAX_WAIT_SECONDS:
        raise BadRequest(f"wait: must be an integer from 0 to {MAX_WAIT_SECONDS}, got {raw[:16]!r}", field="wait")
    return int(raw)


def parse_answer(body: Any) -> Answered:
    body = _object(body)
    known_fields(body, ("status", "latencyMs", "body", "error"))
    status = body.get("status")
    error = body.get("error")
    if status is not None:
        status = _integer(status, "status", 100, 599)
    if error is not None and not isinstance(error, str):
        raise BadRequest("error: must be a string", field="error")
    if status is None and not error:
        raise BadRequest("status: give the receiver's status, or an error saying why there is none", field="status")
    excerpt = body.get("body") or ""
    if not isinstance(excerpt, str):
        raise BadRequest("body: must be a string (the answer's first bytes)", field="body")
    return Answered(
        status=status,
        latency_ms=_integer(body.get("latencyMs", 0), "latencyMs", 0, MAX_LATENCY_MS),
        body=excerpt[:MAX_EXCERPT],
        error=error[:MAX_ERROR] if error else None,
    )


def parse_trigger(body: Any) -> Trigger:
    body = _object(body)
    known_fields(body, ("event", "data"))
    data = body.get("data")
    if data is not None and not isinstance(data, dict):
        raise BadRequest("data: must be a JSON object", field="data")
    return Trigger(event=_event(body.get("event"), "event"), data=data)
