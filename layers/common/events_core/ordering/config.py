"""A webhook's `ordering` setting: `{"by": "workflowId", "windowMs": 2000, "onFailure": "skip"}`.

`by` is a dot path into the event's data (the filters' syntax); `windowMs` how long a post waits
for earlier events of its key that EventBridge delivered late; `onFailure` what a key does when
its head runs out of attempts: `skip` (dead-lettered, the key goes on) or `block` (the key waits
for the developer: skip, or redeliver the head)."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from events_core.errors import BadRequest

MAX_WINDOW_MS = 60_000
DEFAULT_WINDOW_MS = 2_000
MAX_PATH_LENGTH = 256
MAX_PATH_SEGMENTS = 16
FIELDS = ("by", "windowMs", "onFailure")


class OnFailure(StrEnum):
    SKIP = "skip"
    BLOCK = "block"


@dataclass(frozen=True)
class Ordering:
    by: str
    window_ms: int = DEFAULT_WINDOW_MS
    on_failure: OnFailure = OnFailure.SKIP

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.by.split("."))

    def public(self) -> dict[str, Any]:
        return {"by": self.by, "windowMs": self.window_ms, "onFailure": self.on_failure.value}

    def to_item(self) -> dict[str, Any]:
        return self.public()

    @classmethod
    def from_item(cls, item: Any) -> "Ordering | None":
        if not item:
            return None
        return cls(
            str(item["by"]), int(item.get("windowMs", DEFAULT_WINDOW_MS)), OnFailure(item.get("onFailure", "skip"))
        )


def parse_ordering(value: Any) -> Ordering | None:
    """The request's `ordering`: null (unordered) or {by, windowMs?, onFailure?}."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest("ordering: must be null or an object {by, windowMs, onFailure}", field="ordering")
    unknown = sorted(set(value) - set(FIELDS))
    if unknown:
        raise BadRequest(f"ordering.{unknown[0][:64]}: unknown; allowed: {', '.join(FIELDS)}", field="ordering")
    by = value.get("by")
    if not isinstance(by, str) or not by or len(by) > MAX_PATH_LENGTH:
        raise BadRequest(
            f"ordering.by: a dot path into data of 1 to {MAX_PATH_LENGTH} characters, like workflowId",
            field="ordering.by",
        )
    segments = by.split(".")
    if any(not segment for segment in segments) or len(segments) > MAX_PATH_SEGMENTS:
        raise BadRequest(
            f"ordering.by: a dot path into data (at most {MAX_PATH_SEGMENTS} segments), like run.workflowId",
            field="ordering.by",
        )
    window = value.get("windowMs", DEFAULT_WINDOW_MS)
    if isinstance(window, float) and window.is_integer():
        window = int(window)
    if not isinstance(window, int) or isinstance(window, bool) or not 0 <= window <= MAX_WINDOW_MS:
        raise BadRequest(f"ordering.windowMs: an integer from 0 to {MAX_WINDOW_MS}", field="ordering.windowMs")
    on_failure = value.get("onFailure", OnFailure.SKIP.value)
    if on_failure not in (OnFailure.SKIP.value, OnFailure.BLOCK.value):
        raise BadRequest('ordering.onFailure: "skip" or "block"', field="ordering.onFailure")
    return Ordering(by, window, OnFailure(on_failure))
