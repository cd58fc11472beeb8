import json
from datetime import UTC, datetime

import pytest

from events_core.config import Settings
from events_core.delivery import queues
from events_core.delivery.envelope import DeliveryMessage, delivery_id, parse_envelope
from events_core.delivery.retry import MAX_VISIBILITY_SECONDS, next_delay
from events_core.delivery.sender import parse_retry_after
from events_core.delivery.signing import delivery_headers, reference_signature
from events_core.errors import InvalidEvent

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


def test_retry_after_wins_when_longer_and_the_sqs_ceiling_holds():
    settings = Settings()
    assert next_delay(1, settings, retry_after=600) == 600
    assert next_delay(7, settings, retry_after=10**9) == MAX_VISIBILITY_SECONDS


def test_scale_shrinks_the_schedule():
    assert next_delay(2, Settings(retry_delay_scale=0.001)) == 1
    assert next_delay(2, Settings(retry_delay_scale=0)) == 0


@pytest.mark.parametrize(("header", "seconds"), [("120", 120.0), (None, None), ("soon", None), ("", None)])
def test_parse_retry_after(header, seconds):
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
    ],
)
def test_bad_envelopes_say_why(overrides, reason):
    with pytest.raises(InvalidEvent, match=reason):
        parse_envelope(envelope(**overrides), SOURCE)


def test_delivery_ids_are_stable_and_distinct():
    assert delivery_id("e-1", "w-1") == delivery_id("e-1", "w-1")
    assert len({delivery_id("e-1", "w-1"), delivery_id("e-1", "w-2"), delivery_id("e-2", "w-1")}) == 3


def test_body_is_the_reference_shape_and_messages_round_trip():
    message = DeliveryMessage("msg_1", "w", "u", "e", "tool.executed", "2026-04-12T08:00:00.000Z", {"k": "值"})
    assert DeliveryMessage.from_json(message.to_json()) == message
    assert (
        message.body() == '{"event":"tool.executed","timestamp":"2026-04-12T08:00:00.000Z","data":{"k":"值"}}'.encode()
    )


def test_reference_signature_known_vector():
    # printf '%s' '{"a":1}' | openssl dgst -sha256 -hmac secret
    assert (
        reference_signature("secret", b'{"a":1}')
        == "sha256=aa9e2e3575f5d7098b6caccd790888c36d5fdb63342a73bada2d6a51747a8494"
    )


def test_headers_with_and_without_secret():
    unsigned = delivery_headers(event="e", timestamp="t", delivery_id="msg_1", body=b"{}", secret=None)
    assert "X-Webhook-Signature" not in unsigned and "webhook-signature" not in unsigned
    signed = delivery_headers(
        event="e",
        timestamp="t",
        delivery_id="msg_1",
        body=b"{}",
        secret="s",
        now=datetime(2026, 4, 12, 8, 0, tzinfo=UTC),
    )
    assert signed["webhook-timestamp"] == "1775980800"
    assert signed["webhook-signature"].startswith("v1,")


class FakeSqs:
    def __init__(self):
        self.batches = []

    def send_message_batch(self, QueueUrl, Entries):
        self.batches.append([len(entry["MessageBody"]) for entry in Entries])
        return {"Successful": Entries}


def test_batched_sends_respect_count_and_size_limits():
    sqs = FakeSqs()
    queues.send_batched("q", ["x" * 10] * 23, client=sqs)
    assert [len(batch) for batch in sqs.batches] == [10, 10, 3]
    sqs = FakeSqs()
    queues.send_batched("q", ["x" * 100_000] * 5, client=sqs)
    assert [len(batch) for batch in sqs.batches] == [2, 2, 1]
    assert all(sum(batch) <= queues.MAX_BATCH_BYTES for batch in sqs.batches)
