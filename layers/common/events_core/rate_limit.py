"""Each developer's request rate, counted in DynamoDB in batches: one item per developer and window.

Why here and not in API Gateway: a usage-plan key per developer stops at 10,000 keys per account
and region (not adjustable), and usage-plan throttling is best-effort. A Lambda authorizer cannot
answer 429 (only allow, deny or 401), and its answer is cached, so the count is kept by the API
functions. No developer owns an AWS resource, so there is no ceiling on developers.

How it counts: each Lambda execution environment counts a developer's calls in the current window
in memory and adds them to the developer's window item every `batch` calls (one UpdateItem ADD,
answering the new total): k = `batch(config)`, a quarter of the window's allowance (its largest
divisor not above that; 5 by default), 1 when the allowance is under 8. A total past the allowance
refuses that call and every later call of the window in that environment without another write;
a window's last calls below k are never written. So a developer costs at most 1 write per k calls
(0.2 WRU = $0.125 per million calls at the defaults, us-east-1), nothing for refused calls, and
nothing at all for a developer who makes fewer than k calls in a window in one environment.

Exactness, honestly: a developer gets our 429 (with Retry-After, to the window's end) once the
window's written total passes `DeveloperBurstLimit` calls in a fixed window of burst/rate seconds
(20 / 10 per second = 2 s by default). Served by one environment, one call at a time as Lambda
serves them (and locally, where one process serves every function, for calls one after another),
the count is exact, because k divides the allowance. Served by E
environments at once (concurrent calls, several API functions), each may have admitted up to k − 1
calls it has not written yet: worst case E × (k − 1) calls over the allowance in one window (4 per
environment by default), never more. Across a window boundary a burst can reach twice the
allowance in one window's length; over time the rate is `DeveloperRateLimit` plus that overshoot.
If the counter cannot be written (the table throttles or is unreachable) the call is let through
and the failure logged: the stage-wide throttle remains the outer bound.
"""

import math
import threading
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from events_core.aws import LazyTable, per_environment
from events_core.clock import now_ms
from events_core.config import Settings, settings
from events_core.errors import RateLimited
from events_core.observability import logger

SMALLEST_BATCHED_ALLOWANCE = 8  # below it every call is written: a batch of 1 (and exact)


def window_ms(config: Settings) -> int:
    """The window: long enough that `burst` calls in it average `rate` per second (1 s at least)."""
    rate = max(config.developer_rate_limit, 0.001)  # a rate of 0 would be a window without end
    return max(1000, round(1000 * config.developer_burst_limit / rate))


def allowance(config: Settings) -> int:
    """Calls in one window: the burst, or a second's worth of the rate when that is more."""
    return max(config.developer_burst_limit, math.ceil(config.developer_rate_limit * window_ms(config) / 1000))


def batch(config: Settings) -> int:
    """k: calls an environment counts in memory before it writes them, a divisor of the allowance
    (so one environment alone reaches it exactly) and at most a quarter of it."""
    calls = allowance(config)
    if calls < SMALLEST_BATCHED_ALLOWANCE:
        return 1
    return next(k for k in range(calls // 4, 0, -1) if calls % k == 0)


@dataclass
class _Window:
    number: int
    unwritten: int = 0  # calls admitted here and not yet added to the item
    total: int = 0  # the item's total as this environment last wrote it


class EnvironmentCounts:
    """What one execution environment knows of its developers' current windows."""

    def __init__(self) -> None:
        self.windows: dict[str, _Window] = {}
        self.lock = threading.Lock()

    def of(self, developer_id: str, window: int) -> _Window:
        found = self.windows.get(developer_id)
        if found is None or found.number != window:
            if len(self.windows) > 10_000:  # bounded: only the current windows matter
                self.windows = {d: w for d, w in self.windows.items() if w.number >= window}
            found = self.windows[developer_id] = _Window(window)
        return found


@per_environment
def environment_counts() -> EnvironmentCounts:
    """One per execution environment: it outlives invocations; a new local stack starts afresh."""
    return EnvironmentCounts()


def add_calls(table: Any, key: str, calls: int, expires_s: int) -> int:
    """Add `calls` to the window's item; the item's new total."""
    answer = table.update_item(
        Key={"counterKey": key},
        UpdateExpression="ADD calls :calls SET expiresAt = if_not_exists(expiresAt, :expires)",
        # DynamoDB's TTL deletes within days; a window's count only matters until it ends.
        ExpressionAttributeValues={":calls": calls, ":expires": expires_s},
        ReturnValues="UPDATED_NEW",
    )
    return int(answer["Attributes"]["calls"])


class DeveloperRateLimit:
    table = LazyTable("rate_counters_table")

    def __init__(self, table: Any = None, config: Settings | None = None, counts: EnvironmentCounts | None = None):
        if table is not None:
            self.table = table
        self.config = config or settings()
        self.counts = counts or environment_counts()

    def admit(self, developer_id: str, at_ms: int | None = None) -> None:
        """Count one call; RateLimited (429, Retry-After) when this window's calls are spent."""
        at_ms = now_ms() if at_ms is None else at_ms
        length, calls = window_ms(self.config), allowance(self.config)
        number = at_ms // length
        ends_ms = (number + 1) * length
        taken = 0  # calls this one writes: its own and the environment's unwritten ones
        with self.counts.lock:  # a Lambda environment serves one call at a time; the local server may not
            window = self.counts.of(developer_id, number)
            if window.total < calls:
                window.unwritten += 1
                if window.unwritten < batch(self.config):
                    return
                taken, window.unwritten = window.unwritten, 0
        if taken:
            try:
                total = add_calls(self.table, f"{developer_id}#{number}", taken, ends_ms // 1000 + 60)
            except (ClientError, BotoCoreError) as error:
                logger.error("rate counter not written; call admitted", extra={"reason": str(error)})
                return
            with self.counts.lock:
                window.total = max(window.total, total)
            if total <= calls:
                return
        retry_after = max(1, math.ceil((ends_ms - at_ms) / 1000))
        raise RateLimited(
            f"more than {calls} calls in {length / 1000:g} s; retry after {retry_after} s",
            retry_after=retry_after,
        )
