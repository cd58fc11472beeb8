"""When to try again: the schedule (a setting), exponential in shape, with jitter, and Retry-After."""

import math
import random

from events_core.config import Settings

MAX_VISIBILITY_SECONDS = 12 * 3600  # SQS's ceiling for one message's visibility timeout


def next_delay(attempt: int, settings: Settings, retry_after: float | None = None) -> int | None:
    """Seconds before attempt `attempt + 1`, or None when `attempt` was the last one."""
    if attempt >= settings.max_attempts:
        return None
    planned = settings.retry_schedule[attempt - 1] * settings.retry_delay_scale
    # ±20% jitter keeps a burst of failures from retrying in lockstep.
    delay = planned * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not cryptography
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(MAX_VISIBILITY_SECONDS, math.ceil(delay)) if delay > 0 else 0
