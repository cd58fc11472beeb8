"""Parsing and validating a POST /v1/events/webhooks body."""

from dataclasses import dataclass
from typing import Any

from events_core.config import Settings
from events_core.errors import BadRequest
from events_core.event_types import EVENT_TYPES
from events_core.webhooks.filters import validate_filter
from events_core.webhooks.urls import check_webhook_url

_FIELDS = ("event", "url", "secret", "filter")
MAX_SECRET_LENGTH = 256


@dataclass(frozen=True)
class Registration:
    event: str
    url: str
    secret: str | None
    filter: dict


def _optional_string(body: dict, name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{name}: must be a string", field=name)
    return value


def _required_string(body: dict, name: str) -> str:
    value = _optional_string(body, name)
    if value is None:
        raise BadRequest(f"{name}: is required", field=name)
    if not value.strip():
        raise BadRequest(f"{name}: must not be empty", field=name)
    return value


def parse_registration(body: Any, settings: Settings) -> Registration:
    if not isinstance(body, dict):
        raise BadRequest("body: must be a JSON object")
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(_FIELDS)}", field=unknown[0])
    event = _required_string(body, "event")
    url = _required_string(body, "url")
    if event not in EVENT_TYPES:
        raise BadRequest(f"event: unknown event type {event!r}; one of {', '.join(EVENT_TYPES)}", field="event")
    check_webhook_url(url, settings)
    secret = _optional_string(body, "secret")
    if secret is not None and not 1 <= len(secret) <= MAX_SECRET_LENGTH:
        raise BadRequest(f"secret: must be 1 to {MAX_SECRET_LENGTH} characters", field="secret")
    return Registration(event=event, url=url, secret=secret or None, filter=validate_filter(body.get("filter")))
