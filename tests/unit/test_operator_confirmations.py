"""Operator commands that change everything ask first: `webhooks require-verification` (both
spellings) and `dlq purge`. Without a terminal they say to pass --yes (exit 2, no traceback), and
require-verification refuses a stack whose EndpointVerification is off."""

import io
from types import SimpleNamespace

import pytest

from eventsapi import cli
from eventsapi.admin import dlq, verification

SPELLINGS = (["admin", "webhooks", "require-verification"], ["webhooks", "require-verification"])


@pytest.fixture
def marked(monkeypatch):
    calls: list[tuple] = []
    monkeypatch.setattr(verification, "require_all", lambda target, developer, at: calls.append((developer,)) or 3)
    return calls


def _stack(monkeypatch, mode: str | None) -> None:
    parameters = {} if mode is None else {"EndpointVerification": mode}
    monkeypatch.setattr(cli, "_target", lambda args: SimpleNamespace(parameters=parameters))


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_refused_when_the_stack_does_not_verify(monkeypatch, capsys, marked, spelling):
    _stack(monkeypatch, "off")
    assert cli.main([*spelling, "--local", "--yes"]) == 2
    assert "EndpointVerification is off" in capsys.readouterr().err
    assert marked == []


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("mode", ["required", None])
def test_without_a_terminal_it_asks_for_yes_and_changes_nothing(monkeypatch, capsys, marked, spelling, mode):
    _stack(monkeypatch, mode)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert cli.main([*spelling, "--local"]) == 2
    said = capsys.readouterr()
    assert "every webhook of every developer" in said.out
    assert "pass --yes" in said.err and "Traceback" not in said.err
    assert marked == []


def test_a_no_changes_nothing_and_yes_marks(monkeypatch, capsys, marked):
    _stack(monkeypatch, "required")
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert cli.main(["admin", "webhooks", "require-verification", "--local", "--developer", "user_1"]) == 1
    assert marked == []
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert cli.main(["admin", "webhooks", "require-verification", "--local", "--developer", "user_1"]) == 0
    assert cli.main(["admin", "webhooks", "require-verification", "--local", "--yes"]) == 0
    assert marked == [("user_1",), (None,)]
    assert "3 webhook(s) marked pending" in capsys.readouterr().out


def test_dlq_purge_without_a_terminal_says_to_pass_yes(monkeypatch, capsys):
    purged: list[str] = []
    monkeypatch.setattr(cli, "_target", lambda args: SimpleNamespace(parameters={}))
    monkeypatch.setattr(dlq, "purge", lambda target, queue: purged.append(queue) or 1)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert cli.main(["admin", "dlq", "purge", "--local", "--queue", "events"]) == 2
    said = capsys.readouterr().err
    assert "no terminal to confirm on: pass --yes" in said and "Traceback" not in said
    assert purged == []
    assert cli.main(["admin", "dlq", "purge", "--local", "--queue", "events", "--yes"]) == 0
    assert purged == ["events"]
