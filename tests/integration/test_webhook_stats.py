"""Health figures per webhook, end to end: deliveries to a real receiver on 127.0.0.1 write the
aggregates; the stats routes answer from them alone."""

import itertools
import statistics
import threading
from datetime import UTC, datetime, timedelta

from events_core.stats.histogram import bounds_of, bucket_of
from tools.eventsapi.harness.receiver import Behaviour


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _one_in_four_fails():
    """Every fourth post answers 500; latencies spread over several histogram buckets."""
    counter, lock = itertools.count(1), threading.Lock()

    def choose() -> Behaviour:
        with lock:
            n = next(counter)
        return Behaviour(status=500 if n % 4 == 0 else 200, delay=(n % 5) * 0.012)

    return choose


def test_after_100_deliveries_the_route_answers_exact_counts_and_p50_in_the_medians_bucket(make_pipeline, receiver):
    # The failures' retries wait far longer than any pump on a busy machine (the real schedule's
    # first wait, 5 s, did not): 100 attempts, no more. Figures written every batch (exact); the
    # default keeps them up to a minute per environment (tests/unit/test_stats.py).
    pipeline = make_pipeline(RetryDelayScale="1000", StatsFlushSeconds="0")
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.behave("/flaky", _one_in_four_fails()))
    started = datetime.now(UTC)
    for n in range(100):
        pipeline.publish("user_123", "tool.executed", {"n": n})
    pipeline.pump()

    attempts = pipeline.attempts(hook["_id"])
    assert len(attempts) == 100
    since, until = _iso(started - timedelta(minutes=5)), _iso(datetime.now(UTC) + timedelta(minutes=1))
    answer = pipeline.stack.call(
        "GET", f"/v1/events/webhooks/{hook['_id']}/stats?granularity=minute&since={since}&until={until}", key=key
    )
    assert answer.status == 200, answer.json
    totals = answer.json["totals"]
    assert {k: totals[k] for k in ("attempts", "succeeded", "retrying", "dead", "throttled", "held")} == {
        "attempts": 100,
        "succeeded": 75,
        "retrying": 25,
        "dead": 0,
        "throttled": 0,
        "held": 0,
    }
    assert totals["firstAttemptSucceeded"] == 75
    assert totals["successRate"] == 0.75
    assert sum(bucket["attempts"] for bucket in answer.json["buckets"]) == 100

    median = statistics.median_low(int(a["latencyMs"]) for a in attempts)
    lower, upper = bounds_of(bucket_of(median))
    p50 = totals["receiverLatencyMs"]["p50"]
    assert (lower < p50 <= upper) or (lower == 0 and p50 == 0), (median, p50, lower, upper)
    assert totals["eventToDeliveredMs"]["p50"] >= 0

    # The default window (the last 24 hours by hour) counts the same.
    default = pipeline.stack.call("GET", f"/v1/events/webhooks/{hook['_id']}/stats", key=key).json
    assert default["granularity"] == "hour" and default["totals"]["attempts"] == 100
    assert default["totals"]["succeeded"] == 75 and len(default["buckets"]) in (24, 25)

    overview = pipeline.stack.call("GET", "/v1/events/stats", key=key)
    assert overview.status == 200, overview.json
    [row] = overview.json["webhooks"]
    assert row["webhookId"] == hook["_id"] and row["totals"]["attempts"] == 100
    assert overview.json["nextCursor"] is None


def test_another_developers_webhook_is_404(stack):
    mine = stack.key("user_123")
    created = stack.call(
        "POST", "/v1/events/webhooks", key=mine, body={"event": "tool.executed", "url": "https://example.com/h"}
    ).json
    theirs = stack.key("user_456")
    answer = stack.call("GET", f"/v1/events/webhooks/{created['_id']}/stats", key=theirs)
    assert answer.status == 404


def test_bad_query_parameters_are_400_naming_the_problem(stack):
    key = stack.key()
    created = stack.call(
        "POST", "/v1/events/webhooks", key=key, body={"event": "tool.executed", "url": "https://example.com/h"}
    ).json
    path = f"/v1/events/webhooks/{created['_id']}/stats"
    cases = {
        "?colour=red": "colour",
        "?granularity=week": "granularity",
        "?since=2026-04-12T09:00:00.000Z&until=2026-04-12T08:00:00.000Z": "since",
        "?granularity=minute&since=2026-04-12T00:00:00.000Z&until=2026-04-12T08:00:00.000Z": "6 hours",
        "?granularity=hour&since=2026-04-01T00:00:00.000Z&until=2026-04-12T08:00:00.000Z": "7 days",
        "?granularity=day&since=2026-01-01T00:00:00.000Z&until=2026-04-12T08:00:00.000Z": "31 days",
        "?since=yesterday": "since",
    }
    for query, named in cases.items():
        answer = stack.call("GET", path + query, key=key)
        assert answer.status == 400, (query, answer.json)
        assert named in str(answer.json), (query, answer.json)
    assert stack.call("GET", "/v1/events/stats?limit=0", key=key).status == 400
    assert stack.call("GET", "/v1/events/stats?cursor=v1.forged.tag", key=key).status == 400
