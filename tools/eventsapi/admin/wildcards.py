"""`eventsapi admin webhooks mark-wildcards`: after a release declares a new event type, write the
markers of every pattern in use for it (events_core.webhooks.wildcards), so that the type can join
`MARKED_TYPES` in a later release and developers without wildcard webhooks stop paying the fan-out's
direct pattern reads for it. Safe to repeat and to run while the stack serves: each pattern's
markers are put only while its count on the developer's counter item is above 0."""

from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.conditions import Attr

from events_core.webhooks import wildcards
from events_core.webhooks.repository import COUNTER, WebhookRepository
from eventsapi.admin.target import Target


def _counters(table: Any) -> Iterator[dict[str, Any]]:
    """Every developer's counter item: an operator's Scan, never in deployed code."""
    request: dict[str, Any] = {"FilterExpression": Attr("webhookId").eq(COUNTER)}
    while True:
        page = table.scan(**request)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def patterns_in_use(counter: dict[str, Any]) -> list[str]:
    return sorted(
        name[len(wildcards.COUNT_PREFIX) :]
        for name, count in counter.items()
        if name.startswith(wildcards.COUNT_PREFIX) and int(count) > 0
    )


def mark_all(target: Target) -> tuple[int, int]:
    """(patterns marked, developers with any) over the whole table."""
    table = target.table("WebhooksTableName")
    repository = WebhookRepository(table, target.table("DeliveriesTableName"))
    marked = developers = 0
    for counter in _counters(table):
        patterns = patterns_in_use(counter)
        developers += bool(patterns)
        marked += sum(repository.mark_pattern(str(counter["developerId"]), pattern) for pattern in patterns)
    return marked, developers
