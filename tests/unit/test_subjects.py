"""`detail.subjects`: judged the same by the fan-out (which dead-letters a bad one) and the
publishing package (which refuses to send it); `eventsapi events send --subject` repeats; a
detail's unknown top-level keys are never part of what a receiver is sent."""

import json

import pytest

from events_core.delivery.envelope import parse_envelope
from events_core.errors import InvalidEvent
from events_core.records.subjects import Entry, subject_hash
from eventsapi.cli import parser
from eventsapi_publisher import Event, InvalidEventData, Publisher, entry, find

SOURCE = "cn.invoratec.platform"
EXAMPLE = find("tool.executed").example  # type: ignore[union-attr]
BAD = ["user:42", [42], [""], ["x" * 201], [f"u{n}" for n in range(21)], {"a": 1}, [None]]


def envelope(detail: dict) -> str:
    return json.dumps(
        {
            "id": "e-1",
            "source": SOURCE,
            "detail-type": "tool.executed",
            "time": "2026-01-01T00:00:00Z",
            "detail": detail,
        }
    )


def test_subjects_are_read_each_once_in_order():
    detail = {"developerId": "d", "data": {"a": 1}, "subjects": ["user:42", "org:7", "user:42", "x" * 200]}
    assert parse_envelope(envelope(detail), SOURCE).subjects == ("user:42", "org:7", "x" * 200)
    assert parse_envelope(envelope({"developerId": "d", "data": {}}), SOURCE).subjects == ()
    twenty = [f"u{n}" for n in range(20)]
    assert len(parse_envelope(envelope({"developerId": "d", "data": {}, "subjects": twenty}), SOURCE).subjects) == 20


@pytest.mark.parametrize("subjects", BAD)
def test_bad_subjects_make_the_event_invalid_with_the_reason(subjects):
    with pytest.raises(InvalidEvent, match=r"detail\.subjects"):
        parse_envelope(envelope({"developerId": "d", "data": {}, "subjects": subjects}), SOURCE)


@pytest.mark.parametrize("subjects", [s for s in BAD if isinstance(s, list)])
def test_the_publisher_refuses_what_the_stack_would_dead_letter(subjects):
    class Never:
        def put_events(self, Entries):
            raise AssertionError("nothing is sent")

    with pytest.raises(InvalidEventData, match="subjects"):
        Publisher("b", client=Never()).publish("tool.executed", "d", EXAMPLE, subjects=subjects)


def test_the_publisher_puts_subjects_in_detail_where_the_stack_reads_them():
    item = entry(Event("tool.executed", "user_123", EXAMPLE, subjects=("user:42",)), "platform-events")
    parsed = json.loads(item["Detail"])
    assert parsed["subjects"] == ["user:42"]
    event = parse_envelope(
        json.dumps(
            {
                "id": "e",
                "source": SOURCE,
                "detail-type": "tool.executed",
                "time": "2026-01-01T00:00:00Z",
                "detail": parsed,
            }
        ),
        SOURCE,
    )
    assert event.subjects == ("user:42",)
    assert "subjects" not in entry(Event("tool.executed", "user_123", EXAMPLE), "b")["Detail"]


def test_unknown_detail_keys_are_ignored_and_never_delivered():
    detail = {"developerId": "d", "data": {"a": 1}, "subjects": ["user:42"], "secret": "NOT-SENT", "extra": {"x": 1}}
    event = parse_envelope(envelope(detail), SOURCE)
    assert json.loads(event.payload) == {
        "event": "tool.executed",
        "timestamp": "2026-01-01T00:00:00.000Z",
        "data": {"a": 1},
    }
    assert "NOT-SENT" not in event.payload and "user:42" not in event.payload


def test_events_send_takes_subject_repeatedly():
    args = parser().parse_args(
        ["events", "send", "tool.executed", "--developer", "d", "--subject", "a", "--subject", "b"]
    )
    assert args.subject == ["a", "b"]
    assert parser().parse_args(["events", "send", "tool.executed", "--developer", "d"]).subject is None


def test_an_index_entry_names_its_subject_by_hash_and_reads_back():
    entry_ = Entry("dev", subject_hash("user:42"), "ev-1", 5, ("w1", "w2"), True, 99)
    item = entry_.to_item()
    assert item["webhookKey"] == "dev#~subjects" and item["deliveryId"] == f"{subject_hash('user:42')}#ev-1"
    assert "user:42" not in json.dumps(item)
    assert Entry.from_item(item) == entry_
    assert subject_hash("user:4") != subject_hash("user:42") and len(subject_hash("x")) == 32


def test_erase_asks_before_every_developer_and_refuses_without_a_terminal(monkeypatch, capsys):
    from eventsapi.cli import main

    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["--local", "erase", "--subject", "user:42", "--all-developers"]) == 2
    assert "--yes" in capsys.readouterr().err
    assert main(["--local", "erase", "--subject", "user:42"]) == 2
    assert main(["--local", "erase", "--subject", "user:42", "--developer", "d", "--all-developers"]) == 2


def test_the_receipt_digest_depends_on_what_was_erased_not_on_order():
    from eventsapi.admin.erase import digest

    one = digest("h", {"a": ["e2", "e1"], "b": ["e3"]})
    assert one == digest("h", {"b": ["e3"], "a": ["e1", "e2"]}) and one.startswith("sha256:")
    assert one != digest("h", {"a": ["e1"], "b": ["e3"]}) and one != digest("h2", {"a": ["e1", "e2"], "b": ["e3"]})


def test_a_queued_message_is_erased_only_when_it_carries_an_erased_event():
    from eventsapi.admin.erase import _matcher

    def message(body: object) -> dict:
        return {"Body": body if isinstance(body, str) else json.dumps(body)}

    erased = _matcher("user:42", {"dev": {"ev-1"}}, all_developers=False)
    assert erased(message({"developer_id": "dev", "event_id": "ev-1", "payload": "{}"}))  # inline
    assert erased(message({"developer_id": "dev", "event_id": "x", "payload_ref": "ev-1"}))  # by reference
    assert erased(message({"id": "ev-9", "detail": {"developerId": "dev", "subjects": ["user:42"], "data": {}}}))
    assert not erased(message({"developer_id": "dev", "event_id": "ev-2", "payload": "{}"}))
    assert not erased(message({"id": "ev-1", "detail": {"developerId": "other", "subjects": ["user:42"]}}))
    assert not erased(message("not json")) and not erased(message([1]))
    everyone = _matcher("user:42", {}, all_developers=True)
    assert everyone(message({"id": "ev-9", "detail": {"developerId": "other", "subjects": ["user:42"]}}))
