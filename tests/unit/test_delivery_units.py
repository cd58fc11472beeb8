import json
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from events_core.config import Settings
from events_core.delivery import queues
from events_core.delivery.envelope import parse_envelope
from events_core.delivery.retry import next_delay
from events_core.delivery.sender import parse_retry_after
from events_core.delivery.signing import delivery_headers, reference_signature
from events_core.errors import InvalidEvent
from events_core.records.message import (
    DeliveryMessage,
    MalformedMessage,
    Trigger,
    delivery_id,
    delivery_id_floor,
    is_delivery_id,
    new_delivery_id,
)

SOURCE = "cn.invoratec.platform"


def envelope(**overrides) -> str:
    event = {
        "id": "e-1",
        "source": SOURCE,
        "detail-type": "tool.executed",
        "time": "2026-04-12T08:00:00Z",
        "detail": {"developerId": "user_123", "data": {"toolName": "x"}},
    }
    return json.dumps({**event, **overrides})


def test_default_schedule_matches_the_design():
    settings = Settings()
    assert settings.max_attempts == 8
    planned = [5, 300, 1800, 7200, 18000, 36000, 36000]
    for attempt, seconds in enumerate(planned, start=1):
        assert 0.8 * seconds <= next_delay(attempt, settings) <= 1.2 * seconds + 1
    assert next_delay(8, settings) is None


def test_retry_after_wins_when_longer_but_is_bounded():
    settings = Settings()
    assert next_delay(1, settings, retry_after=600) == 600
    # A receiver asking for a day or more gets the cap (a day), not a failed visibility change.
    assert next_delay(1, settings, retry_after=86400) == settings.max_retry_after
    assert next_delay(7, settings, retry_after=10**9) == settings.max_retry_after


def test_scale_shrinks_the_schedule():
    assert next_delay(2, Settings(retry_delay_scale=0.001)) == 1
    assert next_delay(2, Settings(retry_delay_scale=0)) == 0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("²", None),  # a Unicode digit: str.isdigit() says yes, int() says no
        ("١٢٠", None),  # Arabic-Indic digits
        ("9" * 309, None),  # would overflow a float
        ("-5", None),
        ("1e3", None),
        ("Mon, 99 Foo 2026 99:99:99 GMT", None),
        ("Sun, 12 Apr 1970 08:01:00 GMT", None),  # in the past
        ("\x00", None),
    ],
)
def test_any_retry_after_degrades_to_the_schedule(header, seconds):
    assert parse_retry_after(header) == seconds


def test_parse_retry_after_http_date():
    assert (
        parse_retry_after("Sun, 12 Apr 2026 08:01:00 GMT", now=datetime(2026, 4, 12, 8, 0, tzinfo=UTC).timestamp())
        == 60
    )


def test_envelope_takes_the_event_time_with_milliseconds():
    event = parse_envelope(envelope(), SOURCE)
    assert (event.event_id, event.developer_id, event.timestamp) == ("e-1", "user_123", "2026-04-12T08:00:00.000Z")


def test_envelope_prefers_the_given_timestamp():
    detail = {"developerId": "u", "data": {}, "timestamp": "2026-04-12T08:00:00.123Z"}
    assert parse_envelope(envelope(detail=detail), SOURCE).timestamp == "2026-04-12T08:00:00.123Z"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"source": "evil"}, "source"),
        ({"detail-type": "x.y"}, "unknown event type"),
        ({"id": ""}, "no event id"),
        ({"detail": "x"}, "detail is not an object"),
        ({"detail": {"developerId": " ", "data": {}}}, "developerId"),
        ({"detail": {"developerId": "u", "data": {}, "timestamp": 5}}, "not ISO-8601"),
        ({"detail": {"developerId": "u", "data": {}, "timestamp": "1900-01-01T00:00:00Z"}}, "outside"),
    ],
)
def test_bad_envelopes_say_why(overrides, reason):
    with pytest.raises(InvalidEvent, match=reason):
        parse_envelope(envelope(**overrides), SOURCE)


def raw_envelope(data_text: str) -> str:
    return (
        '{"id":"e-1","source":"' + SOURCE + '","detail-type":"tool.executed","time":"2026-04-12T08:00:00Z",'
        '"detail":{"developerId":"user_123","data":' + data_text + "}}"
    )


@pytest.mark.parametrize(
    ("data_text", "reason"),
    [
        ('{"s": "\\ud800"}', "surrogate"),
        ('{"s": "\\udfff x"}', "surrogate"),
        ("[" * 3000 + "]" * 3000, "deeper"),
        ('{"a":' * 40 + "1" + "}" * 40, "deeper"),
        ('{"n": ' + "1" * 5000 + "}", "digits"),
        ('{"x": 1e999}', "out of range"),
        ('{"x": NaN}', "not a JSON number"),
        ('{"x": -Infinity}', "not a JSON number"),
        ("[1]", "not an object"),
    ],
)
def test_poison_data_is_classified_with_its_reason(data_text, reason):
    with pytest.raises(InvalidEvent, match=reason):
        parse_envelope(raw_envelope(data_text), SOURCE)


def test_data_is_kept_byte_for_byte_only_minified():
    data = '{ "big": 1e15, "f": 1.50, "u": "\\u00e9t\\u00e9", "s": "a  b", "pair": "\\ud83d\\ude00", "l": [ 1 , 2 ] }'
    event = parse_envelope(raw_envelope(data), SOURCE)
    assert event.data_json == '{"big":1e15,"f":1.50,"u":"\\u00e9t\\u00e9","s":"a  b","pair":"\\ud83d\\ude00","l":[1,2]}'
    assert event.data == {"big": 1e15, "f": 1.5, "u": "été", "s": "a  b", "pair": "😀", "l": [1, 2]}
    assert len(event.data_json) <= len(data)
    body = json.loads(event.payload)
    assert list(body) == ["event", "timestamp", "data"] and body["data"] == event.data


def test_delivery_ids_are_stable_distinct_and_ordered_by_event_time():
    assert delivery_id("e-1", "w-1", 1000) == delivery_id("e-1", "w-1", 1000)
    ids = {delivery_id("e-1", "w-1", 1000), delivery_id("e-1", "w-2", 1000), delivery_id("e-2", "w-1", 1000)}
    assert len(ids) == 3 and all(is_delivery_id(i) for i in ids)
    earlier, later = delivery_id("z", "w", 1_775_980_800_000), delivery_id("a", "w", 1_775_980_800_001)
    assert earlier < later
    assert delivery_id_floor(1_775_980_800_001) <= later and delivery_id_floor(1_775_980_800_002) > later
    assert is_delivery_id(new_delivery_id(1_775_980_800_000))


def message(**changes) -> DeliveryMessage:
    fields = {
        "delivery_id": delivery_id("e", "w", 0),
        "webhook_id": "w",
        "developer_id": "u",
        "event_id": "e",
        "event": "tool.executed",
        "timestamp": "2026-04-12T08:00:00.000Z",
        "payload": '{"event":"tool.executed"}',
    }
    return DeliveryMessage(**{**fields, **changes})


def test_messages_round_trip_and_move_on():
    first = message()
    assert DeliveryMessage.from_json(first.to_json()) == first
    later = first.next(3, Trigger.RETRY, queued_at_ms=5, not_before_ms=9)
    assert (later.attempt, later.trigger, later.queued_at_ms, later.not_before_ms) == (3, Trigger.RETRY, 5, 9)
    assert DeliveryMessage.from_json(later.to_json()).trigger is Trigger.RETRY


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"delivery_id": 1}',
        json.dumps({**json.loads(message().to_json()), "attempt": 0}),
        json.dumps({**json.loads(message().to_json()), "trigger": "whenever"}),
        json.dumps({**json.loads(message().to_json()), "payload": ""}),
    ],
)
def test_malformed_messages_are_refused(text):
    with pytest.raises(MalformedMessage):
        DeliveryMessage.from_json(text)


def test_reference_signature_known_vector():
    # printf '%s' '{"a":1}' | openssl dgst -sha256 -hmac secret
    assert (
        reference_signature("secret", b'{"a":1}')
        == "sha256=aa9e2e3575f5d7098b6caccd790888c36d5fdb63342a73bada2d6a51747a8494"
    )


def test_headers_with_and_without_secrets():
    unsigned = delivery_headers(event="e", timestamp="t", delivery_id="msg_1", body=b"{}")
    assert "X-Webhook-Signature" not in unsigned and "webhook-signature" not in unsigned
    at = datetime(2026, 4, 12, 8, 0, tzinfo=UTC)
    signed = delivery_headers(event="e", timestamp="t", delivery_id="msg_1", body=b"{}", secrets=["s"], now=at)
    assert signed["webhook-timestamp"] == "1775980800"
    assert signed["webhook-signature"].startswith("v1,") and " " not in signed["webhook-signature"]
    assert "X-Webhook-Signature-Previous" not in signed


def test_during_a_rotation_both_secrets_sign():
    at = datetime(2026, 4, 12, 8, 0, tzinfo=UTC)
    both = delivery_headers(event="e", timestamp="t", delivery_id="msg_1", body=b"{}", secrets=["new", "old"], now=at)
    assert both["X-Webhook-Signature"] == reference_signature("new", b"{}")
    assert both["X-Webhook-Signature-Previous"] == reference_signature("old", b"{}")
    assert [part[:3] for part in both["webhook-signature"].split(" ")] == ["v1,", "v1,"]


class FakeSqs:
    def __init__(self, refuse: set[int] = frozenset()):
        self.batches = []
        self.refuse = refuse

    def send_message_batch(self, QueueUrl, Entries):
        self.batches.append(Entries)
        failed = [{"Id": e["Id"], "Message": "no"} for e in Entries if len(self.batches) - 1 in self.refuse]
        return {"Successful": [], "Failed": failed}


def test_batched_sends_respect_count_and_size_limits_and_carry_the_group():
    sqs = FakeSqs()
    queues.send_all("q", [queues.Outgoing("x" * 10, "dev")] * 23, client=sqs)
    assert [len(batch) for batch in sqs.batches] == [10, 10, 3]
    assert {entry["MessageGroupId"] for batch in sqs.batches for entry in batch} == {"dev"}
    sqs = FakeSqs()
    queues.send_all("q", [queues.Outgoing("x" * 100_000, "dev")] * 5, client=sqs)
    assert [len(batch) for batch in sqs.batches] == [2, 2, 1]
    assert all(sum(len(e["MessageBody"]) for e in batch) <= queues.MAX_BATCH_BYTES for batch in sqs.batches)


def test_the_messages_sqs_refused_are_handed_back():
    sqs = FakeSqs(refuse={1})
    messages = [queues.Outgoing(f"m{n}", "dev", tag=n) for n in range(12)]
    assert [m.tag for m in queues.send_all("q", messages, client=sqs)] == [10, 11]


def test_long_delays_are_capped_at_what_sqs_accepts():
    sqs = FakeSqs()
    queues.send_all("q", [queues.Outgoing("x", "dev", delay=36000)], client=sqs)
    assert sqs.batches[0][0]["DelaySeconds"] == queues.MAX_DELAY_SECONDS


class Visibility:
    """SQS's rule: total visibility ≤ 12 h from the receive; anything more is refused, not clamped."""

    def __init__(self, refuse_above: int):
        self.refuse_above = refuse_above
        self.calls = []

    def change_message_visibility(self, QueueUrl, ReceiptHandle, VisibilityTimeout):
        self.calls.append(VisibilityTimeout)
        if VisibilityTimeout > self.refuse_above:
            raise ClientError({"Error": {"Code": "InvalidParameterValue", "Message": "too long"}}, "Change")


def test_hiding_is_clamped_to_the_twelve_hours_left_since_the_receive():
    sqs = Visibility(refuse_above=43200)
    import time

    set_to = queues.hide("q", "r", 86400, received_at=time.time() - 10, client=sqs)
    assert set_to <= 43200 - 10 - queues.VISIBILITY_MARGIN_SECONDS and sqs.calls == [set_to]


def test_a_refused_visibility_falls_back_to_smaller_values_never_the_default():
    sqs = Visibility(refuse_above=100)
    import time

    set_to = queues.hide("q", "r", 1000, received_at=time.time(), client=sqs)
    assert 0 < set_to <= 100 and sqs.calls[0] == 1000 and sqs.calls[-1] == set_to


def test_an_integral_float_overlap_is_the_integer_json_means():
    from events_core.webhooks.requests import parse_rotation

    assert parse_rotation({"overlapSeconds": 3600.0}).overlap_seconds == 3600
    with pytest.raises(Exception, match="overlapSeconds"):
        parse_rotation({"overlapSeconds": 3600.5})
