"""What a publish must carry beyond its data, shared by the fan-out (which dead-letters a bad one)
and the publishing package (which refuses to send it)."""

from typing import Any

MAX_IDEMPOTENCY_KEY = 128


def idempotency_key_problem(key: Any) -> str | None:
    """Why `key` cannot be an idempotency key (1-128 printable ASCII characters, no spaces), or None."""
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        return f"must be a string of 1 to {MAX_IDEMPOTENCY_KEY} characters"
    if not (key.isascii() and key.isprintable()) or " " in key:
        return "must be printable ASCII without spaces"
    return None
