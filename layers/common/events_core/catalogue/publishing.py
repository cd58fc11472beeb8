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


MAX_SUBJECTS = 20
MAX_SUBJECT_CHARS = 200


def subjects_problem(subjects: Any) -> str | None:
    """Why `subjects` cannot be an event's subjects (the people it concerns, e.g. "user:42": a list
    of at most 20 non-empty strings of at most 200 characters each), or None."""
    if not isinstance(subjects, list) or len(subjects) > MAX_SUBJECTS:
        return f"must be a list of at most {MAX_SUBJECTS} strings"
    for subject in subjects:
        if not isinstance(subject, str) or not 1 <= len(subject) <= MAX_SUBJECT_CHARS:
            return f"must hold strings of 1 to {MAX_SUBJECT_CHARS} characters"
    return None
