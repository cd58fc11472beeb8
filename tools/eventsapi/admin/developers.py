"""Off-boarding and export: a developer's data, found through the data map (events_core.data_map),
never by a Scan.

`remove` deletes every item the map finds, store by store in the map's order: keys first (no new
calls), then what the developer produced (listen sessions with their waiting deliveries, delivery
records of every webhook and session, live or in the partition ledger, payloads, idempotency claims,
API-call logs, budgets, test rings, settings, expunge jobs, rate counters), the webhooks last with
their sealed secrets, headers and credentials (they name the partitions the others are found by, so
an interrupted run can be repeated). What only a queue, stream or log group still holds cannot be
searched by developer: the output names each with its ceiling.

`export` writes the same items as JSON lines, secrets excluded."""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from events_core.config import Settings
from events_core.data_map import MAX_LOG_SHARDS, TABLES, Scope, Store, bounded_only
from events_core.lifecycle import walk
from eventsapi.admin import keys
from eventsapi.admin.target import Target

__all__ = ["MAX_LOG_SHARDS", "Removed", "export", "remove"]


@dataclass
class Removed:
    counts: dict[str, int] = field(default_factory=dict)  # store → items removed
    webhooks: int = 0
    cache_flushed: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def api_keys(self) -> int:
        return self.counts.get("ApiKeysTable", 0)

    @property
    def deliveries(self) -> int:
        return self.counts.get("DeliveriesTable", 0)

    @property
    def api_logs(self) -> int:
        return self.counts.get("ApiLogsTable", 0)

    @property
    def payloads(self) -> int:
        return self.counts.get("PayloadsTable", 0)

    def summary(self) -> str:
        return ", ".join(f"{count} in {store}" for store, count in self.counts.items())


def _present(target: Target) -> list[Store]:
    """The map's tables this stack has (an older local stack may lack one)."""
    return [store for store in TABLES if store.output and store.output in target.outputs]


def _scope(target: Target, developer_id: str, config: Settings) -> Scope:
    return walk.scope_of(developer_id, lambda store: target.table(str(store.output)), config)


def _who_used_subjects(target: Target) -> Any:
    from events_core.records.subjects import SubjectIndex

    return SubjectIndex(target.table("DeliveriesTableName"))


def remove(target: Target, developer_id: str, config: Settings | None = None) -> Removed:
    config = config or Settings.from_env()
    scope = _scope(target, developer_id, config)
    removed = Removed(webhooks=len(scope.webhooks))
    who = _who_used_subjects(target)
    who_keys = who.who_keys(developer_id)  # found through the subject index: removed before it
    with who.table.batch_writer() as batch:
        for key in who_keys:
            batch.delete_item(Key=key)
    for store in _present(target):
        table = target.table(str(store.output))
        removed.counts[store.logical_id] = walk.delete(store, walk.items_of(store, scope, table, keys_only=True), table)
        if store.logical_id == "DeliveriesTable":
            removed.counts[store.logical_id] += len(who_keys)
        if store.logical_id == "ApiKeysTable" and removed.api_keys:
            removed.cache_flushed = keys.flush_authorizer_cache(
                target
            )  # a cached authorization must not outlive the key
    removed.notes.append("still held where no search by developer reaches, until each ceiling passes:")
    removed.notes.extend(f"  {line}" for line in bounded_only(config.log_retention_days))
    return removed


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def exported(target: Target, developer_id: str, config: Settings | None = None) -> Iterator[dict[str, Any]]:
    """Every item held for the developer, one dict a line: {"store", "item"} (secrets left out)."""
    config = config or Settings.from_env()
    scope = _scope(target, developer_id, config)
    for store in _present(target):
        table = target.table(str(store.output))
        for item in walk.items_of(store, scope, table):
            yield {"store": store.logical_id, "item": _plain(walk.without_secrets(store, item))}
        if store.logical_id == "DeliveriesTable":  # who used which subject (hashes), beside the index
            for key in _who_used_subjects(target).who_keys(developer_id):
                if found := table.get_item(Key=key).get("Item"):
                    yield {"store": store.logical_id, "item": _plain(found)}


def export(target: Target, developer_id: str, out: IO[str], config: Settings | None = None) -> int:
    written = 0
    for line in exported(target, developer_id, config):
        out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
        written += 1
    return written
