"""How the fan-out finds wildcard webhooks (`"workflow.*"`, `"*"`) without a scan, and without a
read more for developers who have none.

A wildcard webhook is stored like any other: its `event` is the pattern, so while enabled it sits
in the sparse index ActiveByEvent under "developer#workflow.*" (or "developer#*"). The fan-out
queries "developer#<type>" for every event; for it to know that a pattern partition is worth a
Query, each pattern in use puts a marker in the partition of every catalogue type it takes
(webhookId "~wild#<type>#<pattern>", after the counter "~count" and the listen markers, so never
listed as a webhook). The developer's counter item counts the webhooks of each pattern
("wildcards#<pattern>"); a pattern's markers are written in the same transaction as a webhook
that takes it, and removed, in a transaction conditional on that count being 0, when the last one
goes. A developer without wildcard webhooks has no marker: the one Query per event is all the
fan-out reads, as before. A developer with some pays one Query per pattern an event's type has
markers for, cached with the subscription.

Types the catalogue gains after a pattern's markers were written have none yet: the fan-out
queries both patterns of such a type directly (`MARKED_TYPES` lists the types every marker set
covers), so `"*"` takes them from the deploy that declares them.
"""

from typing import Any

from events_core import event_patterns

MARKER_PREFIX = "~wild#"  # sorts after "~count" and "~listen#": never listed as a webhook
COUNT_PREFIX = "wildcards#"  # the counter item's per-pattern counts

# The catalogue types every developer's markers cover: those declared when wildcard webhooks
# shipped. A type declared later is not here, and the fan-out queries its patterns directly.
MARKED_TYPES = frozenset(
    {
        "app.installed",
        "app.configured",
        "tool.executed",
        "tool.failed",
        "knowledge.updated",
        "graph.synced",
        "workflow.completed",
        "workflow.failed",
        "alert.triggered",
        "ai.conversation",
    }
)


def marker_id(event_type: str, pattern: str) -> str:
    return f"{MARKER_PREFIX}{event_type}#{pattern}"


def is_marker(webhook_id: str) -> bool:
    return webhook_id.startswith(MARKER_PREFIX)


def count_attribute(pattern: str) -> str:
    return f"{COUNT_PREFIX}{pattern}"


def marker_items(developer_id: str, pattern: str, active_key: Any) -> list[dict[str, Any]]:
    """The items of `pattern`'s markers: one in the index partition of each type it takes now."""
    return [
        {
            "developerId": developer_id,
            "webhookId": marker_id(event_type, pattern),
            "activeKey": active_key(developer_id, event_type),
            "filterJson": "{}",
        }
        for event_type in event_patterns.types_of(pattern)
    ]


def marker_keys(developer_id: str, pattern: str) -> list[dict[str, str]]:
    return [
        {"developerId": developer_id, "webhookId": marker_id(event_type, pattern)}
        for event_type in event_patterns.types_of(pattern)
    ]


def patterns_to_query(event_type: str, found: list[tuple[str, str]]) -> list[str]:
    """The pattern partitions the fan-out reads for an event, given what the type's own partition
    held: those its markers name, or both patterns of a type no marker set covers yet."""
    if event_type not in MARKED_TYPES:
        return list(event_patterns.patterns_for(event_type))
    named = {webhook_id.rpartition("#")[2] for webhook_id, _ in found if is_marker(webhook_id)}
    return [pattern for pattern in event_patterns.patterns_for(event_type) if pattern in named]


def without_markers(found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [entry for entry in found if not is_marker(entry[0])]
