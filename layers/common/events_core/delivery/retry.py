"""Back-off: exponential schedule with jitter, never sooner than a (bounded) Retry-After."""

import math
import random

from events_core.config import Settings


def next_delay(attempt: int, settings: Settings, retry_after: float | None = None) -> int | None:
    """Seconds before attempt `attempt + 1`, or None when `attempt` was the last one."""
    if attempt >= settings.max_attempts:
        return None
    planned = settings.retry_schedule[attempt - 1] * settings.retry_delay_scale
    # ±20% jitter keeps a burst of failures from retrying in lockstep.
    delay = planned * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not cryptography
    if retry_after is not None and retry_after > 0:
        # A receiver may ask for a pause, within reason: never more than MaxRetryAfterSeconds.
        delay = max(delay, min(retry_after, settings.max_retry_after))
    return max(0, math.ceil(delay)) if delay > 0 else 0
