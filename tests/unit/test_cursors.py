"""Review N6: cursors are opaque, signed for one query, and opened with bounds."""

import base64

import pytest

from events_core import cursors

SCOPE = {"route": "deliveries", "key": "dev#hook", "status": None, "since": None}


class FakeControlTable:
    def __init__(self):
        self.items: dict[str, dict] = {}

    def get_item(self, Key, ConsistentRead=False):
        item = self.items.get(Key["controlKey"])
        return {"Item": item} if item else {}

    def put_item(self, Item, ConditionExpression=None):
        self.items.setdefault(Item["controlKey"], Item)


@pytest.fixture(autouse=True)
def keys(monkeypatch):
    holder = cursors.CursorKeys(FakeControlTable())
    monkeypatch.setattr(cursors, "stack_keys", lambda: holder)
    return holder


def test_a_cursor_opens_for_its_own_scope_only():
    cursor = cursors.seal({"after": "msg_1", "until": 5}, SCOPE)
    assert cursors.open_cursor(cursor, SCOPE) == {"after": "msg_1", "until": 5}
    for changed in ({"key": "dev#other"}, {"key": "other#hook"}, {"status": "dead"}, {"since": 1}, {"route": "logs"}):
        with pytest.raises(cursors.InvalidCursor):
            cursors.open_cursor(cursor, {**SCOPE, **changed})


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "forged",
    [
        _b64(b"[" * 20000),  # the review's reproduction: a RecursionError before
        "v1." + _b64(b"[" * 300) + "." + _b64(b"0" * 16),
        "v1." + _b64(b'{"after":"msg_1"}') + "." + _b64(b"0" * 16),
        "v2.e30.AAAAAAAAAAAAAAAAAAAAAA",
        "v1.e30",
        "v1." + "A" * 600,
        "v1.\x00.\x1b",
        "",
    ],
)
def test_forged_truncated_nested_or_oversized_cursors_are_invalid(forged):
    with pytest.raises(cursors.InvalidCursor) as refused:
        cursors.open_cursor(forged, SCOPE)
    assert (refused.value.status, refused.value.code, refused.value.field) == (400, "invalid_cursor", "cursor")


def test_any_change_to_a_signed_cursor_is_refused():
    cursor = cursors.seal({"after": "msg_6b0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d"}, SCOPE)
    for at in range(3, len(cursor)):
        flipped = cursor[:at] + ("A" if cursor[at] != "A" else "B") + cursor[at + 1 :]
        with pytest.raises(cursors.InvalidCursor):
            cursors.open_cursor(flipped, SCOPE)
    with pytest.raises(cursors.InvalidCursor):
        cursors.open_cursor(cursor[:-4], SCOPE)  # truncated


def test_the_stack_key_is_made_once_and_then_read():
    table = FakeControlTable()
    first = cursors.CursorKeys(table).key()
    assert cursors.CursorKeys(table).key() == first and len(first) == 32
