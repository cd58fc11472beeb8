"""The aggregate items, in the DeliveriesTable beside the webhook's deliveries but in a partition of
their own, `"developer#webhook#stats"` (so no delivery listing ever meets them):

- `m#<epoch minute>`: written by the delivery, one `ADD` update per (webhook, minute) per batch;
- `h#<epoch hour>`: an hour's minutes added up, written once by the first reader after the hour is
  settled (SETTLE_MS past its end: later than any delivery batch can still write into it), so a
  window reads one item per past hour and minutes only for the last ones.

Attributes: `developerId` (no `webhookId`: these are not delivery records), `expiresAt` (TTL:
LogRetentionDays after the period), `v` (1), one number per count (tally.COUNTS, absent = 0), and
the histograms' buckets as `r00`…`r20` (receiver latency) and `e00`…`e20` (event to delivered),
absent = 0. About 300 bytes: one WRU.
"""

from collections.abc import Iterable, Iterator
from typing import Any

from boto3.dynamodb.conditions import Key

from events_core.aws import LazyTable
from events_core.stats.histogram import BUCKETS
from events_core.stats.tally import COUNTS, Figures
from events_core.stats.tally import Key as TallyKey

VERSION = 1
HOUR_MINUTES = 60
SETTLE_MS = 16 * 60_000  # a delivery invocation lasts at most 15 minutes
_COUNTED = frozenset(COUNTS)


def stats_partition(developer_id: str, webhook_id: str) -> str:
    return f"{developer_id}#{webhook_id}#stats"


def minute_key(minute: int) -> str:
    return f"m#{minute:010d}"


def hour_key(hour: int) -> str:
    return f"h#{hour:08d}"


def _receiver(bucket: int) -> str:
    return f"r{bucket:02d}"


def _delivered(bucket: int) -> str:
    return f"e{bucket:02d}"


def figures_of(item: dict[str, Any]) -> Figures:
    found = Figures()
    for name in _COUNTED:
        if name in item:
            found.counts[name] = int(item[name])
    for bucket in range(BUCKETS):
        if _receiver(bucket) in item:
            found.receiver[bucket] = int(item[_receiver(bucket)])
        if _delivered(bucket) in item:
            found.delivered[bucket] = int(item[_delivered(bucket)])
    return found


def _attributes(figures: Figures) -> dict[str, int]:
    found = {name: value for name, value in figures.counts.items() if value}
    found.update({_receiver(b): v for b, v in figures.receiver.items() if v})
    found.update({_delivered(b): v for b, v in figures.delivered.items() if v})
    return found


class StatsStore:
    table = LazyTable("deliveries_table")

    def __init__(self, table: Any = None):
        if table is not None:
            self.table = table

    def add(self, key: TallyKey, figures: Figures, expires_at: int) -> None:
        """One batch's figures for one (webhook, minute): a single ADD update (counters only grow)."""
        developer_id, webhook_id, minute = key
        added = _attributes(figures)
        if not added:
            return
        names = {f"#a{i}": name for i, name in enumerate(added)}
        values: dict[str, Any] = {f":a{i}": value for i, value in enumerate(added.values())}
        values.update({":d": developer_id, ":x": expires_at, ":v": VERSION})
        names.update({"#x": "expiresAt", "#v": "v"})
        self.table.update_item(
            Key={"webhookKey": stats_partition(developer_id, webhook_id), "deliveryId": minute_key(minute)},
            UpdateExpression="SET developerId = :d, #x = :x, #v = :v ADD "
            + ", ".join(f"#a{i} :a{i}" for i in range(len(added))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def minutes(self, developer_id: str, webhook_id: str, first: int, last: int) -> Iterator[tuple[int, Figures]]:
        """(minute, figures) of the minutes in [first, last] that have any."""
        for item in self._range(developer_id, webhook_id, minute_key(first), minute_key(last)):
            yield int(item["deliveryId"][2:]), figures_of(item)

    def hours(self, developer_id: str, webhook_id: str, first: int, last: int) -> Iterator[tuple[int, Figures]]:
        """(hour, figures) of the settled hours in [first, last] a reader has kept."""
        for item in self._range(developer_id, webhook_id, hour_key(first), hour_key(last)):
            yield int(item["deliveryId"][2:]), figures_of(item)

    def keep_hours(self, developer_id: str, webhook_id: str, hours: Iterable[tuple[int, Figures, int]]) -> None:
        """Write settled hours' sums (hour, figures, expiresAt); an empty hour is kept too, so it is
        not added up again. Written twice by two readers at once, both write the same sums."""
        with self.table.batch_writer() as batch:
            for hour, figures, expires_at in hours:
                batch.put_item(
                    Item={
                        "webhookKey": stats_partition(developer_id, webhook_id),
                        "deliveryId": hour_key(hour),
                        "developerId": developer_id,
                        "expiresAt": expires_at,
                        "v": VERSION,
                        **_attributes(figures),
                    }
                )

    def _range(self, developer_id: str, webhook_id: str, low: str, high: str) -> Iterator[dict[str, Any]]:
        condition = Key("webhookKey").eq(stats_partition(developer_id, webhook_id)) & Key("deliveryId").between(
            low, high
        )
        request: dict[str, Any] = {"KeyConditionExpression": condition}
        while True:
            page = self.table.query(**request)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
