"""Schemathesis hooks for `eventsapi fuzz` (loaded through SCHEMATHESIS_HOOKS by eventsapi.harness.fuzz).

A listen session's long poll waits up to `wait` seconds (default 20) before its 204. Once a run has
opened a session, every generated poll of it that is valid waits that long: dozens of cases idle for
20 s each, most of a run's time, and no answer differs for it. Valid waits above FUZZ_WAIT (and a
missing one, which means 20) are sent as FUZZ_WAIT, so the poll still waits and answers as
documented; invalid values (negative, too large, not a number) are sent as generated.
"""

from typing import Any

import schemathesis

LONG_POLL = "/v1/events/listen/{sessionId}/next"
FUZZ_WAIT = 1
MAX_WAIT = 20


def _shortened(value: Any) -> Any:
    """FUZZ_WAIT for a valid wait longer than it (as an int or as its digits), else the value itself."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return FUZZ_WAIT if FUZZ_WAIT < value <= MAX_WAIT else value
    if isinstance(value, str) and value.isascii() and value.isdigit() and FUZZ_WAIT < int(value) <= MAX_WAIT:
        return str(FUZZ_WAIT)
    return value


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if case.path != LONG_POLL:
        return
    query = dict(case.query or {})
    query["wait"] = _shortened(query["wait"]) if "wait" in query else FUZZ_WAIT
    case.query = query
