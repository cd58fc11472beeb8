"""Ordered delivery's pure parts: the `ordering` setting, keys and positions, `detail.sequence`, and
the sequencer's decisions against an in-memory key store (events_core.ordering)."""

import dataclasses
import json

import pytest

from events_core.delivery.envelope import parse_envelope
from events_core.errors import BadRequest, InvalidEvent
from events_core.ordering import sequencer as sequencer_module
from events_core.ordering.config import OnFailure, Ordering, parse_ordering
from events_core.ordering.keys import headers, ordering_key, position
from events_core.ordering.sequencer import Admitted, Sequencer, Waits
from events_core.ordering.state import KeyState, Waiting
from events_core.records.message import DeliveryMessage, Trigger, delivery_id
from events_core.webhooks.model import Webhook


def _message(n: int, workflow: str = "wf", *, sequence: int | None = None, **fields) -> DeliveryMessage:
    data = {"workflowId": workflow, "n": n}
    return DeliveryMessage(
        delivery_id=delivery_id(f"event-{workflow}-{n}", "hook", 1_700_000_000_000 + n),
        webhook_id="hook",
        developer_id="dev",
        event_id=f"event-{workflow}-{n}",
        event="tool.executed",
        timestamp="2026-04-12T08:00:00.000Z",
        payload=json.dumps({"event": "tool.executed", "timestamp": "2026-04-12T08:00:00.000Z", "data": data}),
        sequence=n if sequence is None else sequence,
        **fields,
    )


# -- the setting
def test_ordering_defaults_and_round_trips_through_the_webhook_item():
    found = parse_ordering({"by": "run.workflowId"})
    assert found == Ordering("run.workflowId", 2000, OnFailure.SKIP)
    hook = Webhook("dev", "6b0a1c2d3e4f5a6b7c8d9e0f", "tool.executed", "https://a.example", "t", "t", ordering=found)
    assert Webhook.from_item(hook.to_item()).ordering == found
    assert hook.public()["ordering"] == {"by": "run.workflowId", "windowMs": 2000, "onFailure": "skip"}
    assert parse_ordering(None) is None
    assert parse_ordering({"by": "a", "windowMs": 60000.0, "onFailure": "block"}).window_ms == 60000


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("workflowId", "ordering"),
        ({"by": ""}, "ordering.by"),
        ({"by": "a..b"}, "ordering.by"),
        ({"by": "x" * 257}, "ordering.by"),
        ({"by": "a", "windowMs": 60001}, "ordering.windowMs"),
        ({"by": "a", "windowMs": -1}, "ordering.windowMs"),
        ({"by": "a", "windowMs": True}, "ordering.windowMs"),
        ({"by": "a", "onFailure": "retry"}, "ordering.onFailure"),
        ({"by": "a", "extra": 1}, "ordering"),
    ],
)
def test_a_bad_ordering_is_a_400_naming_its_field(value, field):
    with pytest.raises(BadRequest) as refused:
        parse_ordering(value)
    assert refused.value.field == field


# -- keys and positions
def test_the_key_is_the_values_json_text():
    ordering = Ordering("run.id")

    def key(data):
        return ordering_key(ordering, json.dumps({"data": data}))

    assert key({"run": {"id": 42}}) == "42"
    assert key({"run": {"id": "42"}}) == '"42"'
    assert key({"run": {"id": {"b": 1, "a": 2}}}) == '{"a":2,"b":1}'
    assert key({"run": {}}) is None and key({"run": 5}) is None
    assert key({"run": {"id": "x" * 300}}) is None  # over 256 characters: unordered


def test_positions_sort_by_sequence_then_by_time():
    assert position(_message(2)) < position(_message(10)) < position(_message(1, sequence=11))
    timed = [dataclasses.replace(_message(n), sequence=None) for n in (3, 1, 2)]
    assert sorted(timed, key=position) == sorted(timed, key=lambda m: m.delivery_id)
    shown = headers(_message(7), '"wf/1 ü"', out_of_order=True)
    assert shown == {
        "X-Webhook-Sequence": "7",
        "X-Webhook-Ordering-Key": "%22wf%2F1%20%C3%BC%22",
        "X-Webhook-Out-Of-Order": "true",
    }


def _envelope(**detail) -> str:
    return json.dumps(
        {
            "id": "e1",
            "source": "cn.invoratec.platform",
            "detail-type": "tool.executed",
            "time": "2026-04-12T08:00:00Z",
            "detail": {"developerId": "dev", "data": {}, **detail},
        }
    )


def test_detail_sequence_is_read_and_checked():
    assert parse_envelope(_envelope(sequence=7), "cn.invoratec.platform").sequence == 7
    assert parse_envelope(_envelope(), "cn.invoratec.platform").sequence is None
    for bad in (-1, 1.5, "7", True, 2**63):
        with pytest.raises(InvalidEvent, match=r"detail\.sequence"):
            parse_envelope(_envelope(sequence=bad), "cn.invoratec.platform")


def test_an_old_message_without_ordering_fields_still_reads():
    old = json.loads(_message(1).to_json())
    del old["sequence"]
    found = DeliveryMessage.from_json(json.dumps(old))
    assert found.sequence is None and found.ordered_at_ms is None


# -- the sequencer, on an in-memory store
class FakeStore:
    def __init__(self):
        self.keys: dict[str, KeyState] = {}
        self.queue: dict[str, dict[str, DeliveryMessage]] = {}

    def state(self, _d, _w, kd):
        return self.keys.get(kd, KeyState())

    def register(self, message, kd, pos, _expires):
        self.queue.setdefault(kd, {})[pos] = message

    def waiting(self, _d, _w, kd, *, limit=1):
        return [Waiting(pos, m) for pos, m in sorted(self.queue.get(kd, {}).items())][:limit]

    def claim(self, _d, _w, kd, *, key, seen, head, until_ms, expires_at):
        if self.state(_d, _w, kd).rev != seen.rev:
            return False
        last = head.position if seen.last is None or head.position > seen.last else seen.last
        self.keys[kd] = KeyState(head.delivery_id, head.position, until_ms, last, False, seen.rev + 1)
        return True

    def finish(self, _d, _w, kd, head, head_pos):
        self.queue[kd].pop(head_pos, None)
        state = self.keys[kd]
        if state.head != head:
            return False
        self.keys[kd] = KeyState(last=state.last, rev=state.rev + 1)
        return True

    def extend(self, _d, _w, kd, head, until_ms, *, failing):
        state = self.keys[kd]
        self.keys[kd] = dataclasses.replace(state, until_ms=until_ms, failing=failing)
        return state.head == head

    def count_out_of_order(self, *_):
        pass


@pytest.fixture
def ordered(monkeypatch):
    kicks: list[tuple[DeliveryMessage, float]] = []
    monkeypatch.setattr(Sequencer, "_kick", lambda self, message, seconds: kicks.append((message, seconds)))
    monkeypatch.setattr(Sequencer, "_mark_held", lambda self, message, expires: None)
    monkeypatch.setattr(sequencer_module, "now_ms", lambda: 1_000_000)

    class Config:
        total_timeout = 10.0
        circuit_max_open_seconds = 3600
        delivery_queue_url = "q"

        def expires_at(self, at):
            return at // 1000 + 86400

    sequencer = Sequencer(Config(), store=FakeStore(), records=object())  # type: ignore[arg-type]
    return sequencer, kicks


def test_a_new_arrival_waits_its_window_then_the_smallest_goes_first(ordered):
    sequencer, kicks = ordered
    window = Ordering("workflowId", 2000)
    second, first = _message(2), _message(1)
    assert isinstance(sequencer.admit(second, window, second.payload), Waits)
    assert isinstance(sequencer.admit(first, window, first.payload), Waits)
    assert [seconds for _, seconds in kicks] == [2.0, 2.0]
    kick_of_second = kicks[0][0]
    sequencer_module.now_ms = lambda: 1_003_000  # type: ignore[assignment]
    admitted = sequencer.admit(kick_of_second, window, kick_of_second.payload)
    assert isinstance(admitted, Admitted) and admitted.message.delivery_id == first.delivery_id
    assert admitted.headers["X-Webhook-Sequence"] == "1" and "X-Webhook-Out-Of-Order" not in admitted.headers
    # The second's own kick comes back later; meanwhile any other kick of the key waits.
    assert kicks[-1][0].delivery_id == second.delivery_id
    assert isinstance(sequencer.admit(kick_of_second, window, kick_of_second.payload), Waits)


def test_a_retrying_head_keeps_its_key_and_its_retry_goes_first(ordered):
    sequencer, kicks = ordered
    now_ordered = Ordering("workflowId", 0)
    head, behind = _message(1), _message(2)
    admitted = sequencer.admit(head, now_ordered, head.payload)
    assert isinstance(admitted, Admitted) and admitted.ticket is not None
    sequencer.settled(admitted.ticket, "retry_scheduled", next_attempt_at="1970-01-01T00:30:00.000Z")
    waits = sequencer.admit(behind, now_ordered, behind.payload)
    assert isinstance(waits, Waits) and waits.held and "waiting behind" in waits.reason
    retry = head.next(2, Trigger.RETRY, queued_at_ms=0)
    retry = dataclasses.replace(retry, ordered_at_ms=1_000_000)
    again = sequencer.admit(retry, now_ordered, retry.payload)
    assert isinstance(again, Admitted) and again.message.attempt == 2
    sequencer.settled(again.ticket, "delivered")
    assert kicks[-1][0].delivery_id == behind.delivery_id and kicks[-1][1] == 0  # handed over at once


def test_an_event_behind_what_its_key_started_is_delivered_marked(ordered):
    sequencer, _ = ordered
    now_ordered = Ordering("workflowId", 0)
    later, earlier = _message(5), _message(3)
    admitted = sequencer.admit(later, now_ordered, later.payload)
    sequencer.settled(admitted.ticket, "delivered")
    late = sequencer.admit(earlier, now_ordered, earlier.payload)
    assert isinstance(late, Admitted) and late.ticket is None
    assert late.headers["X-Webhook-Out-Of-Order"] == "true"
    redelivered = later.next(2, Trigger.REDELIVER, queued_at_ms=0)
    assert sequencer.admit(redelivered, now_ordered, later.payload).headers["X-Webhook-Out-Of-Order"] == "true"


def test_a_registration_that_raced_a_claim_is_not_lost(ordered):
    """An event registered behind its key's last start (its state read before the claim) is posted
    next, marked out of order, when a kick finds it — never dropped as a spent kick."""
    sequencer, _ = ordered
    now_ordered = Ordering("workflowId", 0)
    later, earlier = _message(5), _message(3)
    admitted = sequencer.admit(later, now_ordered, later.payload)
    sequencer.settled(admitted.ticket, "delivered")
    orphan = dataclasses.replace(earlier, ordered_at_ms=999_000)
    sequencer.store.register(orphan, admitted.ticket.key_digest, position(orphan), 0)
    posted = sequencer.admit(orphan, now_ordered, orphan.payload)
    assert isinstance(posted, Admitted) and posted.message.delivery_id == earlier.delivery_id
    assert posted.headers["X-Webhook-Out-Of-Order"] == "true"


def test_events_without_the_field_are_unordered(ordered):
    sequencer, kicks = ordered
    message = dataclasses.replace(_message(1), payload='{"data":{"other":1}}')
    admitted = sequencer.admit(message, Ordering("workflowId"), message.payload)
    assert isinstance(admitted, Admitted) and admitted.headers == {} and admitted.ticket is None and kicks == []


def test_a_head_that_ended_elsewhere_frees_its_key(ordered):
    """A stale head (its attempt already made: dead with its disabled webhook, or delivered by a copy)
    is judged by its record, so it never holds its key for good."""
    from events_core.records.model import DeliveryRecord, DeliveryStatus

    sequencer, kicks = ordered
    now_ordered = Ordering("workflowId", 0)
    head, behind = _message(1), _message(2)
    admitted = sequencer.admit(head, now_ordered, head.payload)
    sequencer.store.register(
        dataclasses.replace(behind, ordered_at_ms=1), admitted.ticket.key_digest, position(behind), 0
    )

    class Records:
        def get(self, developer_id, webhook_id, delivery_id):
            return DeliveryRecord(
                delivery_id=delivery_id, developer_id=developer_id, webhook_id=webhook_id, event_id="e",
                event="tool.executed", created_at="t", status=DeliveryStatus.DEAD, attempt=3,
            )  # fmt: skip

    sequencer.records = Records()
    sequencer.settled(admitted.ticket, "dropped", reason="duplicate: this attempt was already made")
    assert sequencer.store.keys[admitted.ticket.key_digest].head is None
    assert kicks[-1][0].delivery_id == behind.delivery_id
