"""Time and identifiers: ISO-8601 with milliseconds, and 24-hex time-ordered ids."""

import secrets
import time
from datetime import UTC, datetime


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def iso_ms(epoch_ms: int) -> str:
    """2026-04-12T08:00:00.000Z, the reference's timestamp format."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def parse_iso(text: str) -> int:
    """Epoch milliseconds of an ISO-8601 / RFC 3339 timestamp (a leap second counts as :59, lower-case
    t and z are accepted); ValueError when it is not one."""
    text = text.upper().replace("Z", "+00:00")
    if len(text) >= 19 and text[10] in "T " and text[17:19] == "60":
        text = text[:17] + "59" + text[19:]
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def new_id(epoch_ms: int | None = None) -> str:
    """24 lowercase hex chars: 8 for the second, 3 for the millisecond, 13 random.

    The first 8 encode the creation second like a MongoDB ObjectId (the reference's ids look like
    that), and ids sort by creation time down to the millisecond, which the logs table relies on.
    """
    epoch_ms = now_ms() if epoch_ms is None else epoch_ms
    seconds, millis = divmod(epoch_ms, 1000)
    return f"{seconds:08x}{millis:03x}{secrets.token_hex(7)[:13]}"


def is_id(text: str) -> bool:
    return len(text) == 24 and all(c in "0123456789abcdef" for c in text)
