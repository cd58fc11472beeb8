"""The developer CLI's pieces that need no stack: `logs --follow` prints each new call once, times
given as a time ago, tables, and the empty-result lines."""

import argparse
import re

import pytest

from eventsapi import developer_cli
from tests.unit.test_eventsapi_client import scripted  # noqa: F401 - the fixture


def entry(n: int) -> dict:
    return {
        "_id": f"log{n}", "userId": "user_123", "endpoint": "/v1/events/types", "method": "GET", "status": 200,
        "timestamp": f"2026-12-08T00:00:0{n}.000Z", "responseTime": n,
    }  # fmt: skip


def arguments(**given) -> argparse.Namespace:
    defaults = {"status": None, "method": None, "endpoint": None, "since": None, "until": None, "limit": 100}
    return argparse.Namespace(**{**defaults, "json": False, "follow": False, **given})


def test_logs_follow_prints_each_new_call_once_oldest_first(scripted, monkeypatch, capsys):  # noqa: F811
    client, script = scripted(
        (200, {}, {"logs": [entry(2), entry(1)], "nextCursor": None}),
        (200, {}, {"logs": [entry(3), entry(2)], "nextCursor": None}),  # the newest seen comes back: printed once
        (200, {}, {"logs": [entry(4), entry(3)], "nextCursor": None}),
    )
    polls = iter([None, None, KeyboardInterrupt()])

    def sleep(_: float) -> None:
        step = next(polls)
        if step is not None:
            raise step

    monkeypatch.setattr(developer_cli.time, "sleep", sleep)
    assert developer_cli.logs(client, arguments(follow=True)) == 0
    printed = re.findall(r"00:0(\d)\.000Z", capsys.readouterr().out)
    assert printed == ["1", "2", "3", "4"]
    assert "since=2026-12-08T00%3A00%3A02.000Z" in script.seen[1][1]  # it asks from the newest seen on


def test_empty_results_are_a_line(scripted, capsys):  # noqa: F811
    client, _ = scripted(
        (200, {}, {"logs": [], "nextCursor": None}),
        (200, {}, {"webhooks": [], "eventTypes": []}),
        (200, {}, {"deliveries": [], "nextCursor": None}),
    )
    developer_cli.logs(client, arguments(status="5xx"))
    developer_cli.webhooks_list(client, arguments())
    developer_cli.deliveries_list(client, arguments(webhook_id="w1", status="dead", limit=50))
    assert capsys.readouterr().out.splitlines() == [
        "no API calls logged with these filters",
        "no webhooks yet: eventsapi webhooks create --event TYPE --url URL",
        "no deliveries for w1 with status dead",
    ]


@pytest.mark.parametrize(("given", "seconds"), [("30s", 30), ("15m", 900), ("2h", 7200), ("7d", 604800)])
def test_a_time_ago_becomes_an_instant(given, seconds):
    from datetime import UTC, datetime

    then = datetime.strptime(developer_cli.instant(given), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - then).total_seconds() - seconds) < 5
    assert developer_cli.instant("2026-04-12T08:00:00.000Z") == "2026-04-12T08:00:00.000Z"


def test_a_table_lines_up_its_columns():
    assert developer_cli.table(["a", "bb", "c"], [["xxx", None, True], ["y", "z", "last"]]).splitlines() == [
        "a    bb  c",
        "xxx  -   yes",
        "y    z   last",
    ]
