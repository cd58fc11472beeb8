"""Walking the data map for one developer: every item of theirs in every table, found by Queries
of their partitions and indexes and by computed keys, never a Scan.

First the scope: the owners of the developer's partitions (their webhooks, their listen sessions
and whatever the partition ledger remembers of deleted ones), then each table's finders in the
map's order. `tables` maps a store to its table (the admin tools' target, or the functions' own)."""

from collections.abc import Callable, Iterator
from typing import Any

from boto3.dynamodb.conditions import Key

from events_core.aws import LazyTable
from events_core.clock import now_ms
from events_core.config import Settings
from events_core.data_map import TABLES, Keys, Query, Scope, Store
from events_core.listen.model import SESSION_PREFIX
from events_core.rate_limit import window_ms
from events_core.records.ledger import ledger_partition

TableOf = Callable[[Store], Any]


class LiveTables:
    """The map's tables as a deployed function reaches them (its configured names), by store."""

    control = LazyTable("control_table")
    deliveries = LazyTable("deliveries_table")
    webhooks = LazyTable("webhooks_table")
    listen = LazyTable("listen_table")
    payloads = LazyTable("payloads_table")

    def of(self, store: Store) -> Any:
        return {
            "ControlTable": self.control,
            "DeliveriesTable": self.deliveries,
            "WebhooksTable": self.webhooks,
            "ListenTable": self.listen,
            "PayloadsTable": self.payloads,
        }[store.logical_id]


def _pages(table: Any, **query: Any) -> Iterator[dict[str, Any]]:
    while True:
        page = table.query(**query)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _table(name: str) -> Store:
    return next(store for store in TABLES if store.logical_id == name)


def scope_of(developer_id: str, tables: TableOf, config: Settings, *, at_ms: int | None = None) -> Scope:
    """Who owns partitions of this developer's: three Queries (webhooks, sessions, the ledger)."""
    if not developer_id.strip():
        raise ValueError("developer id must not be empty")
    webhooks = list(
        _pages(
            tables(_table("WebhooksTable")),
            KeyConditionExpression=Key("developerId").eq(developer_id),
            ProjectionExpression="webhookId, verifyTokenHash",
        )
    )
    webhook_ids = [str(item["webhookId"]) for item in webhooks if not str(item["webhookId"]).startswith("~")]
    links = tuple(str(item["verifyTokenHash"]) for item in webhooks if item.get("verifyTokenHash"))
    sessions = _pages(
        tables(_table("ListenTable")),
        KeyConditionExpression=Key("pk").eq(developer_id) & Key("sk").begins_with(SESSION_PREFIX),
        ProjectionExpression="sessionId",
    )
    session_ids = [str(item["sessionId"]) for item in sessions if "sessionId" in item]
    retired = _pages(
        tables(_table("DeliveriesTable")),
        KeyConditionExpression=Key("webhookKey").eq(ledger_partition(developer_id)),
        ProjectionExpression="deliveryId",
    )
    retired_ids = [str(item["deliveryId"]) for item in retired]
    owners = tuple(dict.fromkeys([*webhook_ids, *session_ids, *retired_ids]))
    listen = tuple(owner for owner in owners if owner.startswith("ls_"))
    at = now_ms() if at_ms is None else at_ms
    # A counter lives its window and 60 s more (events_core.rate_limit): every window of the last
    # minute and a bit may still have one.
    length = window_ms(config)
    current = at // length
    windows = tuple(range(current - (60_000 // length) - 2, current + 2))
    return Scope(developer_id, tuple(webhook_ids), owners, listen, windows, links)


def items_of(store: Store, scope: Scope, table: Any, *, keys_only: bool = False) -> Iterator[dict[str, Any]]:
    """The developer's items in one table, as the map finds them."""
    for finder in store.find:
        if isinstance(finder, Keys):
            for key in finder.keys(scope):
                item = table.get_item(Key=key).get("Item")
                if item:
                    yield {name: item[name] for name in store.key} if keys_only else item
            continue
        yield from _queried(store, finder, scope, table, keys_only)


def _queried(store: Store, finder: Query, scope: Scope, table: Any, keys_only: bool) -> Iterator[dict[str, Any]]:
    for value in finder.values(scope):
        condition = Key(finder.attribute).eq(value)
        if finder.sort_prefix is not None:
            condition = condition & Key(finder.sort_prefix[0]).begins_with(finder.sort_prefix[1])
        query: dict[str, Any] = {"KeyConditionExpression": condition}
        if finder.index is not None:
            query["IndexName"] = finder.index
        if keys_only or finder.index is not None:
            wanted = [*store.key, *([finder.owned_by] if finder.owned_by else [])]
            query["ProjectionExpression"] = ", ".join(f"#k{n}" for n in range(len(wanted)))
            query["ExpressionAttributeNames"] = {f"#k{n}": name for n, name in enumerate(wanted)}
        for item in _pages(table, **query):
            if finder.owned_by and item.get(finder.owned_by, scope.developer_id) != scope.developer_id:
                continue
            if finder.index is not None and not keys_only:  # an index projects keys: read the item itself
                found = table.get_item(Key={name: item[name] for name in store.key}).get("Item")
                if found:
                    yield found
                continue
            yield item


def delete(store: Store, keys: Iterator[dict[str, Any]], table: Any) -> int:
    count = 0
    with table.batch_writer(overwrite_by_pkeys=list(store.key)) as batch:
        for item in keys:
            batch.delete_item(Key={name: item[name] for name in store.key})
            count += 1
    return count


def without_secrets(store: Store, item: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name not in store.secrets}
