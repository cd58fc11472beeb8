"""Access-log lines → entries, the filters and the cursor, and the batched writes' retries."""

import base64
import gzip
import json

import pytest

from events_core.access_logs import ACCESS_LOG_FIELDS, IngestCounts, awslogs_event, calls, endpoint_of
from events_core.api_logs import ApiCall, ApiLogStore, log_id, shard_key, shard_of, to_item
from events_core.errors import BadRequest
from events_core.log_query import LogQuery, decode_cursor, encode_cursor, log_id_floor
from eventsapi.local.template import load_yaml
from eventsapi.local.wiring import TEMPLATE

LINE = {
    "requestId": "r-1",
    "developerId": "user_123",
    "method": "POST",
    "path": "/prod/v1/ai/chat",
    "stage": "prod",
    "status": "200",
    "requestTimeEpoch": "1775980800000",
    "latencyMs": "1500",
}


def ingest(*messages: str) -> tuple[list[ApiCall], IngestCounts]:
    counts = IngestCounts()
    event = awslogs_event("/aws/apigateway/x", [(f"id-{n}", 1775980800000, m) for n, m in enumerate(messages)])
    return list(calls(event, counts)), counts


def test_a_line_becomes_the_reference_entry():
    (call,), counts = ingest(json.dumps(LINE))
    assert counts.ingested == 1
    assert call == ApiCall("user_123", "/v1/ai/chat", "POST", 200, 1775980800000, 1500, "id-0")
    item = to_item(call, 8)
    assert item["timestamp"] == "2026-04-12T08:00:00.000Z" and item["developerId"] == "user_123"
    assert item["logId"][:11] == log_id_floor(1775980800000)[:11]


@pytest.mark.parametrize(
    ("path", "stage", "endpoint"),
    [
        ("/prod/v1/ai/chat", "prod", "/v1/ai/chat"),
        ("/v1/ai/chat", "prod", "/v1/ai/chat"),  # a custom domain's path has no stage
        ("/prod/v1/tools/x/test?debug=1", "prod", "/v1/tools/x/test"),
        ("/v1/ai/chat", "$default", "/v1/ai/chat"),
        ("/production/v1", "prod", "/production/v1"),  # a prefix of a segment is not the stage
        ("/prod", "prod", "/"),
    ],
)
def test_the_endpoint_has_no_stage_prefix_and_no_query(path, stage, endpoint):
    assert endpoint_of(path, stage) == endpoint


def test_lines_without_a_developer_or_malformed_are_counted_and_skipped():
    found, counts = ingest(
        json.dumps({**LINE, "developerId": "-"}),  # API Gateway's empty variable: an unauthorized call
        json.dumps({k: v for k, v in LINE.items() if k != "developerId"}),
        "not json",
        json.dumps([1, 2]),
        json.dumps({**LINE, "status": "abc"}),
        json.dumps({**LINE, "status": "999"}),
        json.dumps({**LINE, "method": "-"}),
        json.dumps(LINE),
    )
    assert len(found) == 1 and counts.ingested == 1
    assert counts.no_developer == 2 and counts.malformed == 5


def test_a_line_without_its_request_time_takes_the_log_events():
    line = {k: v for k, v in LINE.items() if k != "requestTimeEpoch"}
    (call,), _ = ingest(json.dumps(line))
    assert call.at_ms == 1775980800000


def test_a_kinesis_record_carries_the_same_envelope_and_bad_data_is_counted():
    data = awslogs_event("/g", [("e1", 1, json.dumps(LINE))])["awslogs"]["data"]
    control = base64.b64encode(gzip.compress(json.dumps({"messageType": "CONTROL_MESSAGE"}).encode())).decode()
    event = {"Records": [{"kinesis": {"data": data}}, {"kinesis": {"data": "%%%"}}, {"kinesis": {"data": control}}]}
    counts = IngestCounts()
    assert [call.developer_id for call in calls(event, counts)] == ["user_123"]
    assert counts.malformed == 1


def test_ids_and_shards_derive_from_the_log_event_so_a_retry_rewrites_the_same_item():
    assert log_id(1775980800123, "e1") == log_id(1775980800123, "e1") != log_id(1775980800123, "e2")
    assert log_id(1775980800123, "e1") < log_id(1775980800124, "e0")  # time-ordered
    assert {shard_of(f"e{n}", 8) for n in range(200)} == set(range(8))
    assert shard_key("user_123", 0) == "user_123" and shard_key("user_123", 3) == "user_123#3"


def test_the_stages_format_carries_every_documented_field():
    """This stack's stage writes the format docs/api.md tells platform stages to use."""
    template = load_yaml(TEMPLATE)
    written = json.loads(template["Resources"]["EventsApi"]["Properties"]["AccessLogSetting"]["Format"])
    assert {name: written.get(name) for name in ACCESS_LOG_FIELDS} == ACCESS_LOG_FIELDS


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "5xx"}, LogQuery(status_class=5)),
        ({"status": "4XX"}, LogQuery(status_class=4)),
        ({"status": "404"}, LogQuery(status=404)),
        ({"method": "post"}, LogQuery(method="POST")),
        ({"endpoint": "/v1/ai"}, LogQuery(endpoint="/v1/ai")),
        ({"since": "2026-04-12T08:00:00Z"}, LogQuery(since_ms=1775980800000)),
    ],
)
def test_filters_parse(params, expected):
    assert LogQuery.parse(params) == expected


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "6xx"}, "status"),
        ({"status": "20"}, "status"),
        ({"status": "x"}, "status"),
        ({"method": "P0ST"}, "method"),
        ({"endpoint": "v1/ai"}, "endpoint"),
        ({"endpoint": "/v1?x=1"}, "endpoint"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
    ],
)
def test_bad_filters_are_a_400_naming_the_parameter(params, field):
    with pytest.raises(BadRequest) as refused:
        LogQuery.parse(params)
    assert refused.value.field == field


def test_filters_match_entries():
    item = {"status": 503, "method": "POST", "endpoint": "/v1/ai/chat"}
    assert LogQuery(status_class=5, method="POST", endpoint="/v1/ai").matches(item)
    assert not LogQuery(status=500).matches(item)
    assert not LogQuery(endpoint="/v1/tools").matches(item)
    assert not LogQuery(method="GET").matches(item)


def test_the_cursor_is_signed_for_its_caller_and_filters(monkeypatch):
    from events_core import cursors
    from tests.unit.test_cursors import FakeControlTable

    holder = cursors.CursorKeys(FakeControlTable())
    monkeypatch.setattr(cursors, "stack_keys", lambda: holder)
    position = log_id(1775980800000, "e")
    scope = LogQuery(status_class=5).scope("user_123")
    assert decode_cursor(encode_cursor(position, scope), scope) == position
    for other in (LogQuery(status_class=4).scope("user_123"), LogQuery(status_class=5).scope("user_456")):
        with pytest.raises(BadRequest):
            decode_cursor(encode_cursor(position, scope), other)
    for bad in ("", "abc", encode_cursor("not-an-id", scope), base64.urlsafe_b64encode(b'{"x": 1}').decode()):
        with pytest.raises(BadRequest):
            decode_cursor(bad, scope)


class _Client:
    def __init__(self, refusals: int, *, all_of_them: bool = False):
        self.refusals = refusals
        self.all_of_them = all_of_them
        self.calls: list[int] = []

    def batch_write_item(self, RequestItems):  # boto3's name
        ((table, requests),) = RequestItems.items()
        self.calls.append(len(requests))
        if self.refusals:
            self.refusals -= 1
            return {"UnprocessedItems": {table: requests if self.all_of_them else requests[1:]}}
        return {"UnprocessedItems": {}}


class _Table:
    name = "logs"

    def __init__(self, client):
        self.meta = type("Meta", (), {"client": client})()


def _calls(count: int) -> list[ApiCall]:
    return [ApiCall("u", "/v1/x", "GET", 200, 1775980800000 + n, 1, f"e{n}") for n in range(count)]


def test_unprocessed_items_are_retried():
    client = _Client(refusals=2)
    assert ApiLogStore(_Table(client), sleep=lambda _: None).write(_calls(25)) == 25
    assert client.calls == [25, 24, 23]


def test_writes_go_in_batches_of_25():
    client = _Client(refusals=0)
    assert ApiLogStore(_Table(client), sleep=lambda _: None).write(_calls(60) + _calls(60)) == 60  # duplicates once
    assert sorted(client.calls) == [10, 25, 25]


def test_writes_that_stay_unprocessed_fail_the_invocation_for_a_retry():
    from events_core.api_logs import UnprocessedWrites

    with pytest.raises(UnprocessedWrites):
        ApiLogStore(_Table(_Client(refusals=100, all_of_them=True)), sleep=lambda _: None).write(_calls(3))


def test_times_beyond_what_ids_hold_stay_in_order():
    """A far-future `since` is above every id (not below, as a ninth hex digit would sort)."""
    assert log_id_floor(253402300799000) > log_id(4102444800000, "e")  # year 9999 vs 2100
    assert LogQuery.parse({"since": "9999-12-31T23:59:59Z"}).lower_id() == "f" * 24
    line = {**LINE, "requestTimeEpoch": "99999999999999"}
    found, counts = ingest(json.dumps(line))
    assert found == [] and counts.malformed == 1


def test_the_local_gateway_renders_the_templates_format_as_api_gateway_does():
    """Empty variables become "-", values are escaped, and the line reads back as the entry."""
    from eventsapi.local.access_logs import render, request_context

    template = load_yaml(TEMPLATE)
    log_format = template["Resources"]["EventsApi"]["Properties"]["AccessLogSetting"]["Format"]
    event = {
        "requestContext": {
            "requestId": "r-9",
            "path": '/prod/v1/events/webhooks/"x',
            "requestTimeEpoch": 1775980800000,
            "authorizer": {"developerId": "user_123"},
        }
    }
    line = render(log_format, request_context(event, "GET", '/v1/events/webhooks/"x', 404, 12, "prod"))
    assert json.loads(line)["error"] == "-"
    (call,), _ = ingest(line)
    assert (call.developer_id, call.endpoint, call.status, call.response_time_ms) == (
        "user_123",
        '/v1/events/webhooks/"x',
        404,
        12,
    )
    anonymous = render(log_format, request_context(None, "GET", "/v1/nowhere", 403, 1, "prod"))
    assert ingest(anonymous)[1].no_developer == 1


def test_a_line_with_a_duplicate_key_is_refused_not_won_by_its_last_value():
    """Review L3: json.loads let a later duplicate key win, so a quote smuggled into `path` could
    carry a second developerId and land the call in another developer's logs."""
    smuggled = json.dumps(LINE)[:-1] + ', "developerId": "user_A"}'
    found, counts = ingest(smuggled)
    assert found == [] and counts.malformed == 1 and counts.reasons == {"duplicate_key": 1}


class _FailsOnce:
    def __init__(self):
        self.events: list[dict] = []
        self.failed = False

    def invoke(self, event: dict) -> None:
        if not self.failed:
            self.failed = True
            raise TimeoutError("the function ran out of time")
        self.events.append(event)


def test_a_local_access_log_batch_whose_function_failed_is_delivered_again_not_dropped():
    from eventsapi.local.access_logs import LogDelivery

    delivery = LogDelivery(_NoSubscriptions(), {})
    function = _FailsOnce()
    delivery.subscribe("/aws/apigateway/access", function)
    delivery._interval = 0.25  # batching, as `eventsapi run` does (no thread: flushed by hand here)
    delivery.write("/aws/apigateway/access", '{"line": 1}')
    delivery.flush()  # the function fails: the line waits for the next round
    assert function.events == [] and delivery.delivered == 0
    delivery.flush()
    assert len(function.events) == 1 and delivery.delivered == 1


class _NoSubscriptions:
    def of_type(self, _type: str) -> dict:
        return {}
