"""The retention sweep: applies each developer's chosen retention (settings `retention`) to what is
already kept. Reads already treat anything past its retention as gone (events_core.lifecycle.
retention); the sweep makes it so in the tables, and DynamoDB's TTL does the rest.

Who to sweep: the developers who chose a retention, read from a sparse index of the ControlTable
(RetentionChosen, partition "retention#<n>", n < SWEEP_SHARDS; the settings item carries it only
while a retention is chosen): no Scan, and a developer who never chose costs nothing. For each,
the data map's partitions of the deliveries table are read (every webhook and listen session,
live or in the ledger), and each record is
- deleted when older than recordDays,
- stripped of its payload when the payload is past payloadDays (with 0: once the delivery has
  settled: delivered, dead or failed; a delivery on its way keeps it),
- stripped of receivers' answers when older than responseDays;
then the developer's stored payloads (PayloadsTable) that no unsettled record needs are deleted
when past payloadDays. Every write is conditional on the record as read and on no lease held, so
an attempt in flight is never undone; what it could not change now is changed by the next run.

A run stops before the function's time runs out and leaves its position in the ControlTable
("stack#sweep-position"): the next run goes on from there."""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from events_core.aws import conditional_check_failed
from events_core.clock import now_ms
from events_core.config import Settings, settings
from events_core.data_map import TABLES
from events_core.lifecycle import walk
from events_core.lifecycle.retention import DAY_MS, SETTLED, Retention, age_ms, payload_gone, retention_of
from events_core.lifecycle.settings import SETTINGS_PREFIX, SWEEP_SHARDS, SettingsStore
from events_core.records.ledger import RETRY_SPAN_SECONDS
from events_core.records.model import DeliveryRecord
from events_core.records.payloads import PayloadStore

SWEEP_INDEX = "RetentionChosen"
POSITION_KEY = {"controlKey": "stack#sweep-position"}
# With payloadDays 0, a stored payload no record names yet may still be waiting for its first
# attempt in the delivery queue: it is left this long after it was written.
UNNAMED_PAYLOAD_GRACE_MS = 6 * 3600 * 1000


@dataclass
class Swept:
    developers: int = 0
    records_read: int = 0
    records_deleted: int = 0
    payloads_removed: int = 0
    answers_removed: int = 0
    stored_payloads_deleted: int = 0
    finished: bool = True
    read_bytes: int = field(default=0, repr=False)
    queries: int = 0  # pages read (for the cost model)
    writes: int = 0  # conditional writes made


Tables = walk.LiveTables


def chosen(control: Any, after: tuple[int, str] | None = None) -> Iterator[tuple[int, str]]:
    """(shard, developer) of everyone who chose a retention, in a stable order."""
    first_shard = after[0] if after else 0
    for shard in range(first_shard, SWEEP_SHARDS):
        query: dict[str, Any] = {
            "IndexName": SWEEP_INDEX,
            "KeyConditionExpression": Key("sweepShard").eq(f"retention#{shard}"),
        }
        if after and shard == after[0]:
            query["KeyConditionExpression"] &= Key("controlKey").gt(f"{SETTINGS_PREFIX}{after[1]}")
        while True:
            page = control.query(**query)
            for item in page.get("Items", []):
                yield shard, str(item["controlKey"])[len(SETTINGS_PREFIX) :]
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _conditional(table: Any, **update: Any) -> bool:
    try:
        table.update_item(**update) if "UpdateExpression" in update else table.delete_item(**update)
    except ClientError as error:
        if conditional_check_failed(error):
            return False
        raise
    return True


def _unleased(record: DeliveryRecord, now: int) -> dict[str, Any]:
    return {
        "ConditionExpression": "attempt = :seen AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)",
        "ExpressionAttributeValues": {":seen": record.attempt, ":now": now},
    }


def _record(table: Any, record: DeliveryRecord, kept: Retention, now: int, result: Swept) -> None:
    key = {"webhookKey": f"{record.developer_id}#{record.webhook_id}", "deliveryId": record.delivery_id}
    age = age_ms(record, kept, now)
    if age > kept.record_days * DAY_MS:
        result.writes += 1
        if _conditional(table, Key=key, **_unleased(record, now)):
            result.records_deleted += 1
        return
    removals, sets, values = [], [], {}
    if (record.payload or record.payload_ref) and record.status in SETTLED and payload_gone(record, kept, now):
        removals = ["payload", "payloadRef"]
        result.payloads_removed += 1
    if age > kept.response_days * DAY_MS and any(a.response_excerpt for a in record.attempts):
        sets.append("attempts = :attempts")
        values[":attempts"] = [replace(a, response_excerpt="").to_item() for a in record.attempts]
        result.answers_removed += 1
    if not removals and not sets:
        return
    condition = _unleased(record, now)
    expression = " ".join(
        part
        for part in ("REMOVE " + ", ".join(removals) if removals else "", "SET " + ", ".join(sets) if sets else "")
        if part
    )
    condition["ExpressionAttributeValues"].update(values)
    result.writes += 1
    _conditional(table, Key=key, UpdateExpression=expression, **condition)


def sweep_developer(developer_id: str, kept: Retention, tables: Tables, config: Settings, now: int) -> Swept:
    result = Swept(developers=1)
    scope = walk.scope_of(developer_id, tables.of, config, at_ms=now)
    deliveries = next(store for store in TABLES if store.logical_id == "DeliveriesTable")
    needed: set[str] = set()  # stored payloads an unsettled record still needs
    named: set[str] = set()
    for item in walk.items_of(deliveries, scope, tables.deliveries):
        if "webhookId" not in item:
            continue  # the partition ledger
        result.records_read += 1
        result.read_bytes += len(str(item))
        record = DeliveryRecord.from_item(item)
        if record.payload_ref:
            named.add(record.payload_ref)
            if record.status not in SETTLED:
                needed.add(record.payload_ref)
        _record(tables.deliveries, record, kept, now, result)
    payloads = next(store for store in TABLES if store.logical_id == "PayloadsTable")
    store = PayloadStore(tables.payloads)
    for item in walk.items_of(payloads, scope, tables.payloads, keys_only=False):
        event_id = str(item["eventId"])
        if event_id in needed:
            continue
        written_ms = (int(item.get("expiresAt", 0)) - RETRY_SPAN_SECONDS - config.log_retention_days * 86400) * 1000
        age = now - written_ms
        past = age > kept.payload_days * DAY_MS
        if kept.payload_days == 0:
            past = event_id in named or age > UNNAMED_PAYLOAD_GRACE_MS
        if past:
            store.delete(developer_id, event_id)
            result.stored_payloads_deleted += 1
            result.writes += 1
    return result


def sweep(
    tables: Tables | None = None,
    config: Settings | None = None,
    *,
    seconds_left: Callable[[], float] = lambda: 900.0,
    margin_seconds: float = 30.0,
) -> Swept:
    """Every developer who chose a retention, from where the last run stopped."""
    tables, config = tables or Tables(), config or settings()
    total = Swept()
    position = tables.control.get_item(Key=POSITION_KEY, ConsistentRead=True).get("Item")
    after = (int(position["shard"]), str(position["developerId"])) if position else None
    for shard, developer_id in chosen(tables.control, after):
        if seconds_left() < margin_seconds:
            if after is not None:  # the last developer swept: the next run starts after them
                tables.control.put_item(Item={**POSITION_KEY, "shard": after[0], "developerId": after[1]})
            total.finished = False
            return total
        kept = retention_of(developer_id, SettingsStore(tables.control), config)
        done = sweep_developer(developer_id, kept, tables, config, now_ms())
        for name in (
            "developers",
            "records_read",
            "records_deleted",
            "payloads_removed",
            "answers_removed",
            "stored_payloads_deleted",
            "read_bytes",
        ):
            setattr(total, name, getattr(total, name) + getattr(done, name))
        after = (shard, developer_id)
    tables.control.delete_item(Key=POSITION_KEY)
    return total


def remaining(context: Any) -> Callable[[], float]:
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        return lambda: context.get_remaining_time_in_millis() / 1000
    stop = time.monotonic() + 900
    return lambda: stop - time.monotonic()
