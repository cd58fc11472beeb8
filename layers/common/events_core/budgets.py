"""Post budgets: how many posts a developer may ask for (recover, redeliver, test sends), per
developer and per webhook, as token buckets in the ControlTable.

Usage plans count API calls; one recover call can ask for a thousand posts. Each bucket holds up
to `burst` tokens and refills at `per_minute`; a post takes one token from both the developer's
and the webhook's bucket. Taking is an optimistic read-modify-write: both buckets are read
(strongly consistent), refilled for the time passed, and each is written back with a conditional
update that holds only if it did not change since it was read; a lost race reads again. Nothing here runs for
event deliveries: only for the posts a developer asks for.

Empty buckets are `BudgetExceeded`: 429, code budget_exceeded, with Retry-After. Idle buckets
expire (DynamoDB TTL) once they would be full again, so the table holds only active tenants.

When the outbound gate (events_core.delivery.gate) takes a post budget step, it calls `take`.
"""

import math
import time
from dataclasses import dataclass
from typing import Any

from events_core.aws import LazyTable, conditional_update
from events_core.config import Settings
from events_core.errors import EventsApiError, Unavailable

# The bucket every listen trigger of a developer draws on, beside the developer's own (a key no
# webhook id can take: ids are hex).
TRIGGER_BUDGET_KEY = "~listen"

_MILLI = 1000  # tokens are stored in thousandths, so the table holds integers
_RACES = 5


class BudgetExceeded(EventsApiError):
    status = 429
    code = "budget_exceeded"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


@dataclass(frozen=True)
class Bucket:
    key: str
    what: str  # how the refusal names it
    per_minute: float
    burst: int

    def level(self, item: dict[str, Any] | None, now_ms: int) -> float:
        """Tokens in the bucket at `now_ms` (full when it has never been used or has expired)."""
        if item is None:
            return float(self.burst)
        stored = int(item["tokens"]) / _MILLI
        elapsed = max(now_ms - int(item["stampMs"]), 0) / 1000
        return min(float(self.burst), stored + elapsed * self.per_minute / 60)

    def wait_seconds(self, level: float, wanted: float = 1.0) -> int:
        return max(1, math.ceil((wanted - level) * 60 / self.per_minute))

    def full_again_seconds(self, level: float) -> int:
        return math.ceil((self.burst - level) * 60 / self.per_minute) + 60


def buckets(developer_id: str, webhook_id: str, config: Settings) -> tuple[Bucket, Bucket]:
    return (
        Bucket(f"post#{developer_id}", "this developer's", config.post_budget_per_minute, config.post_budget_burst),
        Bucket(
            f"post#{developer_id}#{webhook_id}",
            "this webhook's",
            config.webhook_post_budget_per_minute,
            config.webhook_post_budget_burst,
        ),
    )


class PostBudgets:
    table = LazyTable("control_table")

    def __init__(self, config: Settings, table: Any = None):
        self.config = config
        if table is not None:
            self.table = table

    def take(self, developer_id: str, webhook_id: str, wanted: int, *, now_ms: int | None = None) -> int:
        """Take up to `wanted` posts (at least one) from both budgets: how many were granted.
        BudgetExceeded when either bucket cannot give even one."""
        developer, webhook = buckets(developer_id, webhook_id, self.config)
        for _ in range(_RACES):
            at = now_ms if now_ms is not None else int(time.time() * 1000)
            items = [self._read(developer.key), self._read(webhook.key)]
            levels = [developer.level(items[0], at), webhook.level(items[1], at)]
            granted = self._grant(wanted, (developer, webhook), levels)
            if not self._write(developer, items[0], levels[0], granted, at):
                continue  # another taker won this round: read again
            for _ in range(_RACES):
                if self._write(webhook, items[1], levels[1], granted, at):
                    return granted
                # The developer's tokens are taken; settle the webhook's at what it has now (a
                # lost race can charge the developer a little more than it was granted, never less).
                items[1] = self._read(webhook.key)
                levels[1] = webhook.level(items[1], at)
                granted = self._grant(granted, (webhook,), levels[1:])
            break
        raise Unavailable("the post budget is busy; nothing was sent, retry")

    def check(self, developer_id: str, webhook_id: str, *, now_ms: int | None = None) -> None:
        """BudgetExceeded when either bucket cannot give one post now; reads only (reserves nothing)."""
        developer, webhook = buckets(developer_id, webhook_id, self.config)
        at = now_ms if now_ms is not None else int(time.time() * 1000)
        levels = [developer.level(self._read(developer.key), at), webhook.level(self._read(webhook.key), at)]
        self._grant(1, (developer, webhook), levels)

    @staticmethod
    def _grant(wanted: int, pair: tuple[Bucket, ...], levels: list[float]) -> int:
        granted = min(wanted, *(math.floor(level) for level in levels))
        if granted >= 1:
            return granted
        short = [(bucket, level) for bucket, level in zip(pair, levels, strict=True) if level < 1]
        wait = max(bucket.wait_seconds(level) for bucket, level in short)
        names = " and ".join(bucket.what for bucket, _ in short)
        raise BudgetExceeded(
            f"{names} budget for recover, redeliver and test posts is spent; try again in {wait} s",
            retry_after=wait,
        )

    def _read(self, key: str) -> dict[str, Any] | None:
        return self.table.get_item(Key={"controlKey": key}, ConsistentRead=True).get("Item")

    def _write(self, bucket: Bucket, item: dict[str, Any] | None, level: float, taken: int, at: int) -> bool:
        """One conditional write: the bucket less `taken`, if nobody changed it since `item` was read."""
        left = level - taken
        values: dict[str, Any] = {
            ":tokens": math.floor(left * _MILLI),
            ":now": at,
            ":expires": at // 1000 + bucket.full_again_seconds(left),
        }
        if item is None:
            condition = "attribute_not_exists(controlKey)"
        else:
            condition = "stampMs = :read AND tokens = :had"
            values.update({":read": int(item["stampMs"]), ":had": int(item["tokens"])})
        return conditional_update(
            self.table,
            Key={"controlKey": bucket.key},
            UpdateExpression="SET tokens = :tokens, stampMs = :now, expiresAt = :expires",
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
        )


def take_posts(developer_id: str, webhook_id: str, wanted: int, config: Settings) -> int:
    """The plain function the services call (and the gate's budget step will)."""
    return PostBudgets(config).take(developer_id, webhook_id, wanted)
