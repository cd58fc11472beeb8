"""The bounded `make bench` that CI runs (`--quick`: smaller sizes, every figure). One proof a file:
xdist hands files to workers, so the long proofs run side by side and are handed out first (heavy)."""

import re
import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.heavy(rank=1)


def test_the_benchmarks_run_and_reads_follow_the_answer(tmp_path):
    """The bounded `make bench`: every benchmark prints its figures (no timing is asserted)."""
    cost, scale = tmp_path / "cost.md", tmp_path / "scale.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run_all", "--quick", "--cost-out", str(cost), "--scale-out", str(scale)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
        check=False,
    )
    print(done.stdout)
    assert done.returncode == 0, done.stderr[-5000:]
    # Long runs say where they are (issue 17): one "bench N/M: <module>" line per step of the plan, the
    # local end-to-end step among them. The plan grows as benchmarks are added, so match the shape, not a count.
    steps = re.findall(r"bench (\d+)/(\d+): (\w+)", done.stderr)
    assert steps, done.stderr
    total = int(steps[0][1])
    assert [int(n) for n, _, _ in steps] == list(range(1, total + 1)), done.stderr
    assert {int(m) for _, m, _ in steps} == {total}, done.stderr
    assert "local_e2e" in {name for _, _, name in steps}, done.stderr
    figures = dict(re.findall(r"^(.+?)\s{2,}(\S.*)$", done.stdout, re.MULTILINE))
    # A page of 100 reads one chunk per shard and merges: a few more than 100, the same at any size.
    assert figures["scaling: GET logs, 100 logs in table (items read)"] == "100"  # all of them
    assert int(figures["scaling: GET logs, 10,000 logs in table (items read)"]) <= 200
    assert "flat" in figures["logs page (100), status=5xx (10%): items read, pages 1-5"]
    assert figures["logs page: the emulator's ScannedCount agrees with the in-memory count (2,000 logs)"] == "yes"
    assert "cost: per million logged API calls (access-log ingest)" in figures
    assert "logs ingest: 1,000 access-log lines per invocation (local emulator)" in figures
    assert figures["scaling: fan-out, 1 webhook in table (items read)"] == "1"
    assert figures["scaling: fan-out, +1,000 other webhooks (items read)"] == "1"
    small = figures["scaling: GET deliveries, 100 of the webhook's (items read)"]
    assert figures["scaling: GET deliveries, 5,000 of the webhook's (items read)"] == small
    assert figures["fan-out cache off: index queries per event, burst of 1,000"] == "1.000"
    assert float(figures["fan-out cache 5 s: index queries per event, burst of 1,000"].split()[0]) < 0.1
    assert figures["per delivery: DynamoDB writes (items)"] == "BatchWriteItem 1, PutItem 1"
    # Wildcard webhooks: a developer without any reads the one Query it always did; with them, the
    # subscribers and their markers, never the developer's partition of 100.
    assert figures["fan-out lookup: items read per event, no wildcards"].startswith("10.0 items in 1.0 Query")
    assert float(figures["fan-out lookup: items read per event, wildcards"].split()[0]) < 25
    assert figures["fan-out lookup: cost of wildcards"].startswith("default path +$0.0000 per million deliveries")
    for name in (
        "delivery: batch / single post",
        "local e2e: beyond the emulator's PutEvents, p50",
        "cost: per million events delivered",
        "cost: per million API calls",
        "rate limit: DynamoDB counter, per million API calls",
        "rate limit: modelled developer ceiling",
        "scale: modelled developer ceiling",
        "scale: first ceiling at the defaults (events/s, 1 webhook each)",
        "local e2e: put-events → webhook received, p99",
        "local throughput: deliveries/s sustained over 5 s",
        "cold start: DeliverFunction module",
        "schema check: per event, valid data (median of types)",
        "schema check: share of a fan-out batch of 10 events",
        "cost: per million events published with an idempotency key (on top)",
    ):
        # A row may add a note in parentheses ("… delivered (KMS requests included)").
        assert any(figure == name or figure.startswith(f"{name} (") for figure in figures), name
    assert "**total**" in cost.read_text()
    assert "## Where it binds first" in scale.read_text()
