"""`eventsapi events send|validate` speak of the one event given: no batch index ("event 0:"), no
"+N more" over a list that follows in full, and an unknown type lists the valid ones as the API does."""

import json

import pytest

from eventsapi import cli
from eventsapi_publisher import InvalidEventData, Publisher, names

# Four faults: every required field of tool.executed but one is missing, and one has the wrong type.
FAULTY = {"toolName": 5}


def test_send_lists_each_fault_once_under_a_plain_header(capsys):
    code = cli.main(["events", "send", "tool.executed", "--developer", "user_123", "--data", json.dumps(FAULTY)])
    assert code == 1
    said = capsys.readouterr().err.splitlines()
    assert said[0].startswith("not sent: data does not match the tool.executed schema (")
    assert all("event 0" not in line and "more)" not in line for line in said)
    assert len(said) - 1 == int(said[0].split("(")[1].split()[0]) >= 2


def test_one_published_event_has_no_batch_index():
    with pytest.raises(InvalidEventData) as raised:
        Publisher("platform-events", client=object()).publish("tool.executed", "user_123", FAULTY)
    assert not str(raised.value).startswith("event ")


@pytest.mark.parametrize("command", ["validate", "send"])
def test_an_unknown_type_lists_the_valid_ones(capsys, command):
    argv = ["events", command, "tool.executd", *(["--developer", "user_123"] if command == "send" else [])]
    assert cli.main(argv) == 2
    said = capsys.readouterr().err
    assert f"unknown event type 'tool.executd'; one of {', '.join(names())}" in said
