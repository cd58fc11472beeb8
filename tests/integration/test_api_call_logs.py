"""The platform's API-call logs: a simulated platform stage's calls reach their developer's logs
(and no one else's) through the access-log ingest; filters and the cursor page through a
thousand entries with no overlap and no gap."""

import contextlib
import json
import random
import threading
from urllib.parse import urlencode

import pytest

from events_core.access_logs import awslogs_event
from events_core.api_logs import ApiCall, ApiLogStore
from events_core.clock import iso_ms, now_ms
from events_core.log_query import LogQuery
from eventsapi.local.platform import PLATFORM_LOG_GROUP

REFERENCE_FIELDS = {"_id", "userId", "endpoint", "method", "status", "timestamp", "responseTime"}


def platform_call(stack, method: str, path: str, key: str | None) -> int:
    headers = [("X-API-Key", key)] if key else []
    return stack.gateway.handle(method, path, headers, b"{}", "127.0.0.1").status


def logs(stack, key: str, **params: str) -> dict:
    query = f"?{urlencode(params)}" if params else ""
    answer = stack.call("GET", f"/v1/events/logs{query}", key=key)
    assert answer.status == 200, answer.json
    return answer.json


def test_a_call_to_another_platform_api_shows_in_its_developers_logs_only(stack):
    mine, theirs = stack.key("user_123"), stack.key("user_456")
    assert platform_call(stack, "POST", "/v1/ai/chat", mine) == 200
    assert platform_call(stack, "POST", "/v1/tools/erp_get_inventory/test?debug=1", mine) == 200
    assert platform_call(stack, "POST", "/v1/ai/chat", None) == 401  # no developer: skipped
    found = logs(stack, mine, endpoint="/v1/")["logs"]
    assert [(log["method"], log["endpoint"], log["status"]) for log in found] == [
        ("POST", "/v1/tools/erp_get_inventory/test", 200),
        ("POST", "/v1/ai/chat", 200),
    ]
    assert set(found[0]) == REFERENCE_FIELDS and found[0]["userId"] == "user_123"
    assert {log["endpoint"] for log in logs(stack, theirs)["logs"]} == set()  # their list is their own


def test_the_ingest_counts_and_skips_bad_lines_and_never_fails(stack):
    good = {"developerId": "user_123", "method": "GET", "path": "/prod/v1/x", "stage": "prod", "status": "200"}
    event = awslogs_event(
        PLATFORM_LOG_GROUP,
        [
            ("1", now_ms(), json.dumps(good)),
            ("2", now_ms(), "{"),
            ("3", now_ms(), json.dumps({**good, "developerId": "-"})),
        ],
    )
    assert stack.invoke("IngestApiLogsFunction", event) == {"written": 1, "noDeveloper": 1, "malformed": 1}
    assert stack.invoke("IngestApiLogsFunction", {"awslogs": {"data": "not base64!"}})["malformed"] == 1


def test_a_redelivered_batch_writes_no_duplicates(stack):
    line = {"developerId": "user_123", "method": "GET", "path": "/v1/x", "status": "200", "requestTimeEpoch": "5"}
    event = awslogs_event(PLATFORM_LOG_GROUP, [("same-id", now_ms(), json.dumps(line))])
    stack.invoke("IngestApiLogsFunction", event)
    stack.invoke("IngestApiLogsFunction", event)
    assert len(logs(stack, stack.key(), endpoint="/v1/x")["logs"]) == 1


def test_a_developer_id_ending_like_a_shard_never_reads_anothers_shard(stack):
    store = ApiLogStore()
    store.write([ApiCall("user", "/v1/secret", "GET", 200, now_ms() - n, 1, f"e{n}") for n in range(64)])
    assert logs(stack, stack.key("user#1"))["logs"] == []  # "user#1" is also shard 1 of "user"


def seed(count: int) -> list[ApiCall]:
    rng = random.Random(7)
    start = now_ms() - count * 37
    calls = []
    for n in range(count):
        developer = "user_123" if n % 5 else "user_456"
        status = rng.choice([200, 200, 200, 201, 404, 429, 500, 503])
        method = rng.choice(["GET", "POST", "DELETE"])
        endpoint = rng.choice(["/v1/ai/chat", "/v1/tools/erp/test", "/v1/events/webhooks"])
        # Several calls share a millisecond: order within it is the id's.
        calls.append(ApiCall(developer, endpoint, method, status, start + (n // 3) * 100, n % 900, f"event-{n}"))
    ApiLogStore().write(calls)
    return calls


def walk(stack, key: str, **params: str) -> tuple[list[dict], int]:
    found, pages, cursor = [], 0, None
    while True:
        page = logs(stack, key, **params, **({"cursor": cursor} if cursor else {}))
        found += page["logs"]
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            return found, pages
        assert pages < 500


FILTERS = (
    {},
    {"status": "5xx"},
    {"status": "404", "method": "get"},
    {"endpoint": "/v1/ai", "status": "2XX"},
)


def expected(calls: list[ApiCall], params: dict[str, str], window: tuple[str, str] | None) -> list[ApiCall]:
    status = params.get("status", "")
    return [
        call
        for call in calls
        if call.developer_id == "user_123"
        and (window is None or window[0] <= iso_ms(call.at_ms) < window[1])
        and (not status or str(call.status)[0] == status[0])
        and (status[1:].lower() in ("", "xx") or call.status == int(status))
        and call.method == params.get("method", call.method).upper()
        and call.endpoint.startswith(params.get("endpoint", ""))
    ]


def test_filters_and_cursor_page_through_a_thousand_with_no_overlap_and_no_gap(make_stack):
    # Three shards rather than the default eight, a thousand calls and pages of 100 (eight pages
    # unfiltered, as many as two thousand in pages of 200): moto reads its whole table on every Query.
    stack = make_stack(DeveloperRateLimit="10000", DeveloperBurstLimit="10000", LogShards="3")
    key = stack.key("user_123")
    calls = seed(1000)
    times = sorted(call.at_ms for call in calls)
    window = (iso_ms(times[100]), iso_ms(times[900]))
    for params, bounded in [(f, False) for f in FILTERS] + [(FILTERS[1], True)]:
        extra = {"since": window[0], "until": window[1]} if bounded else {}
        found, pages = walk(stack, key, limit="100", **params, **extra)
        ids = [log["_id"] for log in found]
        assert len(ids) == len(set(ids)), f"pages overlap: {params}"
        assert ids == sorted(ids, reverse=True), f"not newest first: {params}"
        wanted = expected(calls, params, window if bounded else None)
        assert len(found) == len(wanted), f"a gap: {params}"
        assert all(log["userId"] == "user_123" for log in found)
        assert pages >= len(wanted) // 100


def test_the_default_page_and_limit_keep_the_references_shape(make_stack):
    stack = make_stack()
    seed(400)
    page = logs(stack, stack.key("user_123"))
    assert len(page["logs"]) == 100 and page["nextCursor"]
    assert set(page) == {"logs", "nextCursor"}


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=9xx", "status"), ("since=soon", "since"), ("cursor=zzz", "cursor"), ("endpoint=v1", "endpoint")],
)
def test_bad_query_parameters_are_400s_naming_them(stack, query, field):
    answer = stack.call("GET", f"/v1/events/logs?{query}", key=stack.key())
    assert answer.status == 400 and answer.json["error"]["field"] == field


def test_a_cursor_is_for_its_own_filters_and_caller(make_stack):
    stack = make_stack()
    seed(300)
    mine = stack.key("user_123")
    cursor = logs(stack, mine, limit="10", status="2xx")["nextCursor"]
    assert logs(stack, mine, limit="10", status="2xx", cursor=cursor)["logs"]
    for key, params in ((mine, {"status": "5xx"}), (stack.key("user_456"), {"status": "2xx"})):
        answer = stack.call("GET", f"/v1/events/logs?{urlencode({**params, 'cursor': cursor})}", key=key)
        assert answer.status == 400 and answer.json["error"]["field"] == "cursor"


class ConcurrencySpy:
    """A logs table that counts Queries and how many were in flight at once; the first `shards`
    wait for each other (up to a timeout), so shards read at once are seen at once under any load."""

    def __init__(self, table, shards: int):
        self.table = table
        self.lock = threading.Lock()
        self.in_flight = self.most_at_once = self.queries = 0
        self.first_round = threading.Barrier(shards, timeout=5)

    def query(self, **request):
        with self.lock:
            self.queries += 1
            self.in_flight += 1
            self.most_at_once = max(self.most_at_once, self.in_flight)
            waits = self.queries <= self.first_round.parties
        try:
            if waits:
                with contextlib.suppress(threading.BrokenBarrierError):
                    self.first_round.wait()
            return self.table.query(**request)
        finally:
            with self.lock:
                self.in_flight -= 1


def test_a_page_reads_its_shards_at_once_in_few_rounds(make_stack):
    """A page is a scatter-gather over LogShards partitions: their Queries go out together (one
    after another, a page waited for eight round trips, sixteen with a filter), and a filter that
    passes over most entries refills every shard running dry in the same round."""
    make_stack()  # the default eight shards
    calls = seed(800)
    spy = ConcurrencySpy(ApiLogStore().table, shards=8)
    page = ApiLogStore(table=spy).page("user_123", LogQuery.parse({"status": "5xx"}), limit=100)
    assert spy.most_at_once == 8
    assert spy.queries <= 16  # two rounds of the eight shards
    wanted = [call for call in calls if call.developer_id == "user_123" and call.status >= 500]
    assert page.logs and all(log["status"] >= 500 for log in page.logs)
    assert len(page.logs) == min(100, len(wanted)) or page.next_before is not None
