"""Event patterns and the fan-out's wildcard lookup: which partitions it reads, and that a developer
without wildcard webhooks costs exactly the one Query it always did."""

import pytest

from events_core import event_patterns
from events_core.delivery.fanout import SubscriptionCache
from events_core.errors import BadRequest
from events_core.event_types import EVENT_TYPES
from events_core.webhooks import wildcards
from events_core.webhooks.model import active_key


def test_patterns_match_their_namespace_or_everything():
    assert event_patterns.types_of("workflow.*") == ("workflow.completed", "workflow.failed")
    assert event_patterns.types_of("*") == EVENT_TYPES
    assert event_patterns.matches("tool.failed", "tool.failed") and not event_patterns.matches(
        "tool.failed", "tool.executed"
    )
    assert not event_patterns.matches("workflow.*", "tool.failed")
    assert event_patterns.first_type("workflow.*") == "workflow.completed"


@pytest.mark.parametrize("value", ["workflow.*", "*", "tool.failed", "ai.*"])
def test_types_and_patterns_of_the_catalogue_are_taken_as_given(value):
    assert event_patterns.parse(value) == value


def test_an_unknown_namespace_names_the_namespaces():
    with pytest.raises(BadRequest) as refused:
        event_patterns.parse("nosuch.*")
    message = str(refused.value)
    assert "nosuch.*" in message and all(f"{ns}.*" in message for ns in event_patterns.namespaces())


@pytest.mark.parametrize("value", ["workflow", "workflow.**", ".*", "**", "workflow.fail*", "", "x" * 10_000 + ".*"])
def test_anything_else_is_refused(value):
    with pytest.raises(BadRequest):
        event_patterns.parse(value)


def test_every_marked_type_is_in_the_catalogue():
    assert set(EVENT_TYPES) >= wildcards.MARKED_TYPES


class CountingRepository:
    """The sparse index as a dict of partitions; counts the Queries."""

    def __init__(self, partitions: dict[str, list[tuple[str, str]]]):
        self.partitions = partitions
        self.queried: list[str] = []

    def active_for(self, developer_id: str, event: str) -> list[tuple[str, str]]:
        key = active_key(developer_id, event)
        self.queried.append(key)
        return list(self.partitions.get(key, []))


def _markers(developer: str, pattern: str) -> dict[str, list[tuple[str, str]]]:
    return {
        item["activeKey"]: [(item["webhookId"], "{}")]
        for item in wildcards.marker_items(developer, pattern, active_key)
    }


def test_a_developer_without_wildcards_costs_one_query():
    repository = CountingRepository({"dev#tool.failed": [("w1", "{}")]})
    assert SubscriptionCache(0, repository).active("dev", "tool.failed") == [("w1", "{}")]
    assert repository.queried == ["dev#tool.failed"]


def test_markers_name_the_pattern_partitions_to_read_and_are_never_subscribers():
    partitions = {
        "dev#workflow.failed": [("exact", "{}")],
        "dev#workflow.*": [("family", "{}")],
        "dev#*": [("all", "{}")],
    }
    for pattern in ("workflow.*", "*"):
        for key, entries in _markers("dev", pattern).items():
            partitions.setdefault(key, []).extend(entries)
    repository = CountingRepository(partitions)
    found = SubscriptionCache(0, repository).active("dev", "workflow.failed")
    assert sorted(found) == [("all", "{}"), ("exact", "{}"), ("family", "{}")]
    assert repository.queried == ["dev#workflow.failed", "dev#workflow.*", "dev#*"]

    repository.queried.clear()
    assert SubscriptionCache(0, repository).active("dev", "tool.failed") == [("all", "{}")]
    assert repository.queried == ["dev#tool.failed", "dev#*"]  # no workflow.* marker on tool types


def test_a_type_no_marker_set_covers_yet_reads_its_patterns_directly(monkeypatch):
    monkeypatch.setattr(wildcards, "MARKED_TYPES", frozenset(EVENT_TYPES) - {"ai.conversation"})
    repository = CountingRepository({"dev#*": [("all", "{}")]})
    assert SubscriptionCache(0, repository).active("dev", "ai.conversation") == [("all", "{}")]
    assert repository.queried == ["dev#ai.conversation", "dev#ai.*", "dev#*"]


def test_the_cache_keeps_the_pattern_reads_too():
    partitions = {"dev#*": [("all", "{}")], **_markers("dev", "*")}
    repository = CountingRepository(partitions)
    cache = SubscriptionCache(60, repository)
    cache.active("dev", "tool.failed")
    cache.active("dev", "tool.failed")
    assert repository.queried == ["dev#tool.failed", "dev#*"]
