"""Each developer's request rate, counted in DynamoDB: one item per developer and window.

Why here and not in API Gateway: a usage-plan key per developer stops at 10,000 keys per account
and region (not adjustable), and usage-plan throttling is best-effort. A Lambda authorizer cannot
answer 429 (only allow, deny or 401), and its answer is cached, so the count is kept by the API
functions, one conditional UpdateItem per call (1 write unit: +$0.625 per million calls at
us-east-1 on-demand prices). No developer owns an AWS resource, so there is no ceiling on
developers.

Exactness: a developer gets at most `DeveloperBurstLimit` calls in each fixed window of
burst/rate seconds (20 / 10 per second = 2 s by default) — exact within a window, because the
count is a conditional write. Across a window boundary a burst can reach twice that in one
window's length; over time the rate is `DeveloperRateLimit`. If the counter cannot be written (the
table throttles or is unreachable) the call is let through and the failure logged: the stage-wide
throttle remains the outer bound.
"""

import math
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from events_core.aws import LazyTable, conditional_update
from events_core.clock import now_ms
from events_core.config import Settings, settings
from events_core.errors import RateLimited
from events_core.observability import logger


def window_ms(config: Settings) -> int:
    """The window: long enough that `burst` calls in it average `rate` per second (1 s at least)."""
    rate = max(config.developer_rate_limit, 0.001)  # a rate of 0 would be a window without end
    return max(1000, round(1000 * config.developer_burst_limit / rate))


def allowance(config: Settings) -> int:
    """Calls in one window: the burst, or a second's worth of the rate when that is more."""
    return max(config.developer_burst_limit, math.ceil(config.developer_rate_limit * window_ms(config) / 1000))


class DeveloperRateLimit:
    table = LazyTable("rate_counters_table")

    def __init__(self, table: Any = None, config: Settings | None = None):
        if table is not None:
            self.table = table
        self.config = config or settings()

    def admit(self, developer_id: str, at_ms: int | None = None) -> None:
        """Count one call; RateLimited (429, Retry-After) when this window's calls are spent."""
        at_ms = now_ms() if at_ms is None else at_ms
        length, calls = window_ms(self.config), allowance(self.config)
        window = at_ms // length
        ends_ms = (window + 1) * length
        try:
            counted = conditional_update(
                self.table,
                Key={"counterKey": f"{developer_id}#{window}"},
                UpdateExpression="ADD calls :one SET expiresAt = if_not_exists(expiresAt, :expires)",
                ConditionExpression="attribute_not_exists(calls) OR calls < :allowed",
                ExpressionAttributeValues={
                    ":one": 1,
                    ":allowed": calls,
                    # DynamoDB's TTL deletes within days; a window's count only matters until it ends.
                    ":expires": ends_ms // 1000 + 60,
                },
            )
        except (ClientError, BotoCoreError) as error:
            logger.error("rate counter not written; call admitted", extra={"reason": str(error)})
            return
        if not counted:
            retry_after = max(1, math.ceil((ends_ms - at_ms) / 1000))
            raise RateLimited(
                f"more than {calls} calls in {length / 1000:g} s; retry after {retry_after} s",
                retry_after=retry_after,
            )
