"""Parsing and validating the bodies of the webhook routes: create, change, rotate a secret, test."""

from dataclasses import dataclass
from typing import Any

from events_core import event_patterns
from events_core.config import Settings
from events_core.errors import BadRequest
from events_core.event_types import EVENT_TYPES
from events_core.ordering.config import Ordering, parse_ordering
from events_core.webhooks.controls import parse_auth, parse_headers, parse_rate_limit
from events_core.webhooks.filters import validate_filter
from events_core.webhooks.urls import check_webhook_url

MAX_SECRET_LENGTH = 256
MAX_DESCRIPTION_LENGTH = 256
MAX_OVERLAP_SECONDS = 7 * 86400
CONTROL_FIELDS = ("rateLimit", "headers", "auth", "asymmetricSignature", "ordering")  # the receiver's
CREATE_FIELDS = ("event", "url", "secret", "filter", "description", *CONTROL_FIELDS)
CHANGE_FIELDS = ("url", "event", "filter", "enabled", "description", *CONTROL_FIELDS)
ROTATE_FIELDS = ("secret", "overlapSeconds")
TEST_FIELDS = ("event", "data")


@dataclass(frozen=True)
class Registration:
    event: str
    url: str
    secret: str | None
    filter: dict
    description: str
    rate_limit: dict[str, int] | None = None
    headers: dict[str, str] | None = None
    auth: dict[str, str] | None = None
    asymmetric_signature: bool = False
    ordering: Ordering | None = None


@dataclass(frozen=True)
class Rotation:
    secret: str | None  # None: the service generates one (and answers it, once)
    overlap_seconds: int | None  # None: the stack's default


@dataclass(frozen=True)
class TestSend:
    event: str | None
    data: dict | None


def _object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise BadRequest("body: must be a JSON object")
    return body


def known_fields(body: dict, allowed: tuple[str, ...], hint: dict[str, str] | None = None) -> None:
    """400 for a field this request does not take (naming the first); `hint` explains some."""
    for name, why in (hint or {}).items():
        if name in body:
            raise BadRequest(f"{name}: {why}", field=name)
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        shown = ", ".join(name[:64] for name in unknown[:5])
        raise BadRequest(f"unknown field(s): {shown}; allowed: {', '.join(allowed)}", field=unknown[0][:64])


def _string(body: dict, name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise BadRequest(f"{name}: is required", field=name)
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name}: must be a string", field=name)
    if required and not value.strip():
        raise BadRequest(f"{name}: must not be empty", field=name)
    return value


def _event(value: str) -> str:
    if value not in EVENT_TYPES:
        raise BadRequest(f"event: unknown event type {value[:64]!r}; one of {', '.join(EVENT_TYPES)}", field="event")
    return value


def _subscribed(value: str) -> str:
    """A webhook's `event`: one type, `"<namespace>.*"` or `"*"` (events_core.event_patterns)."""
    return event_patterns.parse(value)


def _secret(value: str | None) -> str | None:
    if value is not None and not 1 <= len(value) <= MAX_SECRET_LENGTH:
        raise BadRequest(f"secret: must be 1 to {MAX_SECRET_LENGTH} characters", field="secret")
    return value


def _description(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > MAX_DESCRIPTION_LENGTH:
        raise BadRequest(f"description: must be at most {MAX_DESCRIPTION_LENGTH} characters", field="description")
    if any((ord(c) < 0x20 and c not in "\n\t") or ord(c) == 0x7F for c in value):
        raise BadRequest("description: must not contain control characters", field="description")
    return value


def parse_registration(body: Any, settings: Settings) -> Registration:
    body = _object(body)
    known_fields(body, CREATE_FIELDS)
    event = _subscribed(_string(body, "event", required=True) or "")
    url = _string(body, "url", required=True) or ""
    check_webhook_url(url, settings)
    return Registration(
        event=event,
        url=url,
        secret=_secret(_string(body, "secret")) or None,
        filter=validate_filter(body.get("filter")),
        description=_description(_string(body, "description")) or "",
        rate_limit=parse_rate_limit(body.get("rateLimit")),
        headers=parse_headers(body.get("headers"), oauth=body.get("auth") is not None),
        auth=parse_auth(body.get("auth"), settings),
        asymmetric_signature=_flag(body, "asymmetricSignature") or False,
        ordering=parse_ordering(body.get("ordering")),
    )


def parse_changes(body: Any, settings: Settings) -> dict[str, Any]:
    """The fields a PATCH changes, validated exactly as on create; at least one."""
    body = _object(body)
    known_fields(
        body,
        CHANGE_FIELDS,
        hint={"secret": "is not changed here; use POST /v1/events/webhooks/{id}/secret/rotate"},
    )
    if not body:
        raise BadRequest(f"body: nothing to change; give any of {', '.join(CHANGE_FIELDS)}")
    changes: dict[str, Any] = {}
    if "url" in body:
        url = _string(body, "url", required=True) or ""
        check_webhook_url(url, settings)
        changes["url"] = url
    if "event" in body:
        changes["event"] = _subscribed(_string(body, "event", required=True) or "")
    if "filter" in body:
        changes["filter"] = validate_filter(body["filter"])
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise BadRequest("enabled: must be true or false", field="enabled")
        changes["enabled"] = body["enabled"]
    if "description" in body:
        if body["description"] is None:
            raise BadRequest("description: must be a string", field="description")
        changes["description"] = _description(_string(body, "description"))
    if "rateLimit" in body:
        changes["rateLimit"] = parse_rate_limit(body["rateLimit"])
    if "headers" in body:
        changes["headers"] = parse_headers(body["headers"])
    if "auth" in body:
        changes["auth"] = parse_auth(body["auth"], settings)
    if "asymmetricSignature" in body:
        changes["asymmetricSignature"] = _flag(body, "asymmetricSignature")
    if "ordering" in body:
        changes["ordering"] = parse_ordering(body["ordering"])  # None: unordered from now on
    return changes


def _flag(body: dict, name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise BadRequest(f"{name}: must be true or false", field=name)
    return value


def parse_rotation(body: Any) -> Rotation:
    body = _object(body)
    known_fields(body, ROTATE_FIELDS)
    overlap = body.get("overlapSeconds")
    if isinstance(overlap, float) and overlap.is_integer():
        overlap = int(overlap)  # JSON has one number type: 3600.0 is the integer 3600
    if overlap is not None and (
        not isinstance(overlap, int) or isinstance(overlap, bool) or not 0 <= overlap <= MAX_OVERLAP_SECONDS
    ):
        raise BadRequest(f"overlapSeconds: must be an integer from 0 to {MAX_OVERLAP_SECONDS}", field="overlapSeconds")
    return Rotation(secret=_secret(_string(body, "secret")), overlap_seconds=overlap)


def parse_test(body: Any) -> TestSend:
    body = _object(body)
    known_fields(body, TEST_FIELDS)
    event = _string(body, "event")
    data = body.get("data")
    if data is not None and not isinstance(data, dict):
        raise BadRequest("data: must be a JSON object", field="data")
    return TestSend(event=_event(event) if event is not None else None, data=data)
