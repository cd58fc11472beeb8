"""GET /v1/events/logs filters: since (inclusive), until (exclusive), status (a code or a class such
as 5xx), method, endpoint (a prefix); and the opaque cursor that carries a page's position.

The time range becomes the Query's key condition on the time-ordered `logId`; the other filters
are checked on the entries read, which the read budget bounds (events_core.api_logs).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from events_core import cursors
from events_core.clock import is_id, parse_iso
from events_core.errors import BadRequest

_STATUS_CLASS = re.compile(r"[1-5]xx", re.IGNORECASE)
_METHOD = re.compile(r"[A-Za-z]{1,16}")
MAX_ENDPOINT = 1024


MAX_ID_MS = 0xFFFFFFFF * 1000 + 999  # ids hold the second in 8 hex digits (until 2106)


def log_id_floor(at_ms: int) -> str:
    """The smallest log id of a call at `at_ms` (ids are the second, the millisecond, then 13 more);
    a time beyond what ids can hold gives an id above every id."""
    if at_ms > MAX_ID_MS:
        return "f" * 24
    seconds, millis = divmod(max(at_ms, 0), 1000)
    return f"{seconds:08x}{millis:03x}" + "0" * 13


@dataclass(frozen=True)
class LogQuery:
    since_ms: int | None = None
    until_ms: int | None = None
    status: int | None = None  # an exact code
    status_class: int | None = None  # 5 for 5xx
    method: str | None = None
    endpoint: str | None = None  # a prefix of the path

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> "LogQuery":
        return cls(
            since_ms=_time(params, "since"),
            until_ms=_time(params, "until"),
            **_status(params.get("status")),
            method=_method(params.get("method")),
            endpoint=_endpoint(params.get("endpoint")),
        )

    def lower_id(self) -> str | None:
        return None if self.since_ms is None else log_id_floor(self.since_ms)

    def upper_id(self) -> str | None:
        """Exclusive: ids below the floor of `until`."""
        return None if self.until_ms is None else log_id_floor(self.until_ms)

    def matches(self, item: Mapping[str, Any]) -> bool:
        status = int(item.get("status") or 0)
        if self.status is not None and status != self.status:
            return False
        if self.status_class is not None and status // 100 != self.status_class:
            return False
        if self.method is not None and str(item.get("method", "")).upper() != self.method:
            return False
        return self.endpoint is None or str(item.get("endpoint", "")).startswith(self.endpoint)

    def scope(self, developer_id: str) -> dict[str, Any]:
        """What a cursor is bound to (events_core.cursors): the caller and these very filters."""
        return {
            "route": "logs",
            "developer": developer_id,
            "since": self.since_ms,
            "until": self.until_ms,
            "status": self.status,
            "statusClass": self.status_class,
            "method": self.method,
            "endpoint": self.endpoint,
        }


def _time(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return parse_iso(raw[:64])
    except (ValueError, OverflowError):
        raise BadRequest(
            f"{name}: must be an ISO-8601 time such as 2026-04-12T08:00:00.000Z, got {raw[:40]!r}", field=name
        ) from None


def _status(raw: str | None) -> dict[str, int | None]:
    if raw is None:
        return {}
    if _STATUS_CLASS.fullmatch(raw):
        return {"status_class": int(raw[0])}
    if raw.isascii() and raw.isdigit() and len(raw) == 3 and 100 <= int(raw) <= 599:
        return {"status": int(raw)}
    raise BadRequest(f"status: must be a code from 100 to 599 or a class such as 5xx, got {raw[:16]!r}", field="status")


def _method(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not _METHOD.fullmatch(raw):
        raise BadRequest(f"method: must be an HTTP method such as POST, got {raw[:20]!r}", field="method")
    return raw.upper()


def _endpoint(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not raw.startswith("/") or len(raw) > MAX_ENDPOINT or "?" in raw:
        raise BadRequest(
            f"endpoint: must be a path prefix starting with / (no query), at most {MAX_ENDPOINT} characters",
            field="endpoint",
        )
    return raw


def encode_cursor(before: str, scope: dict[str, Any]) -> str:
    """A signed cursor (events_core.cursors) holding the id the next page continues below."""
    return cursors.seal({"before": before}, scope)


def decode_cursor(cursor: str, scope: dict[str, Any]) -> str:
    """The id a cursor's page continues below; 400 invalid_cursor for anything this API did not
    hand out for this caller and these filters."""
    found = cursors.open_cursor(cursor, scope).get("before")
    if not isinstance(found, str) or not is_id(found):
        raise cursors.InvalidCursor("cursor: not a cursor this API handed out for this query", field="cursor")
    return found
