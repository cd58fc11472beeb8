"""What orders a post: its key (the value at the webhook's `ordering.by` in the event's data) and
its position within the key (the producer's `detail.sequence`, else the event's time then its
delivery id), and the headers that tell the receiver both."""

import json
from typing import Any
from urllib.parse import quote

from events_core.ordering.config import Ordering
from events_core.records.message import DeliveryMessage

MAX_KEY_LENGTH = 256
MAX_SEQUENCE = 2**63 - 1
_SEQUENCE_DIGITS = 19


def ordering_key(ordering: Ordering, payload: str) -> str | None:
    """The key's text: the value's JSON (so 42 and "42" are different keys); None when the event
    has no such field, or its text is longer than MAX_KEY_LENGTH (then it is delivered unordered)."""
    try:
        found: Any = json.loads(payload).get("data")
    except (ValueError, AttributeError):
        return None
    for segment in ordering.path:
        if not isinstance(found, dict) or segment not in found:
            return None
        found = found[segment]
    text = json.dumps(found, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text if len(text) <= MAX_KEY_LENGTH else None


def valid_sequence(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SEQUENCE


def position(message: DeliveryMessage) -> str:
    """Sortable text: a producer's sequence ("s" + 19 digits) sorts before event times ("t" + the
    delivery id's time digits); the delivery id last makes it unique and breaks ties."""
    if message.sequence is not None:
        return f"s{message.sequence:0{_SEQUENCE_DIGITS}d}#{message.delivery_id}"
    return f"t{message.delivery_id[4:15]}#{message.delivery_id}"


def sequence_shown(message: DeliveryMessage) -> str:
    """X-Webhook-Sequence: the producer's sequence, else the event's time in epoch milliseconds."""
    if message.sequence is not None:
        return str(message.sequence)
    stamp = message.delivery_id[4:15]
    return str(int(stamp[:8], 16) * 1000 + int(stamp[8:], 16))


def headers(message: DeliveryMessage, key: str, *, out_of_order: bool) -> dict[str, str]:
    found = {"X-Webhook-Sequence": sequence_shown(message), "X-Webhook-Ordering-Key": quote(key, safe="")}
    if out_of_order:
        found["X-Webhook-Out-Of-Order"] = "true"
    return found
