"""The per-developer rate counted in batches (events_core.rate_limit): far below the allowance an
execution environment writes nothing or one UpdateItem per k calls; at the allowance it answers
429 and stops writing; several environments overshoot by at most E × (k − 1) calls a window."""

import pytest

from events_core.config import Settings
from events_core.errors import RateLimited
from events_core.rate_limit import DeveloperRateLimit, EnvironmentCounts, allowance, batch

DEFAULTS = Settings(developer_rate_limit=10.0, developer_burst_limit=20)  # 20 calls per 2 s window
WINDOW_START_MS = 1_800_000_000_000


class CountingTable:
    """update_item with ADD, as DynamoDB answers it (UPDATED_NEW), counting the writes."""

    def __init__(self) -> None:
        self.items: dict[str, int] = {}
        self.writes = 0

    def update_item(self, *, Key, ExpressionAttributeValues, **_):
        self.writes += 1
        key = Key["counterKey"]
        total = self.items[key] = self.items.get(key, 0) + ExpressionAttributeValues[":calls"]
        return {"Attributes": {"calls": total}}


def limiter(table: CountingTable, config: Settings = DEFAULTS) -> DeveloperRateLimit:
    return DeveloperRateLimit(table=table, config=config, counts=EnvironmentCounts())


def admitted(limit: DeveloperRateLimit, calls: int, at_ms: int = WINDOW_START_MS) -> int:
    answered = 0
    for _ in range(calls):
        try:
            limit.admit("dev", at_ms)
            answered += 1
        except RateLimited:
            pass
    return answered


@pytest.mark.parametrize(("burst", "k"), [(20, 5), (100, 25), (21, 3), (23, 1), (7, 1), (3, 1), (8, 2)])
def test_the_batch_divides_the_allowance_and_is_at_most_a_quarter_of_it(burst, k):
    config = Settings(developer_rate_limit=float(burst), developer_burst_limit=burst)
    assert batch(config) == k
    assert allowance(config) % k == 0


def test_far_below_the_limit_a_developer_costs_no_write():
    """Four calls a window in one environment: never a batch, so never a write."""
    table = CountingTable()
    limit = limiter(table)
    for window in range(50):
        assert admitted(limit, 4, WINDOW_START_MS + window * 2000) == 4
    assert table.writes == 0


def test_a_busy_developer_costs_one_write_per_five_calls():
    table = CountingTable()
    limit = limiter(table)
    for window in range(10):
        assert admitted(limit, 15, WINDOW_START_MS + window * 2000) == 15
    assert table.writes == 30  # 150 calls: 0.2 write a call


def test_one_environment_is_exact_and_a_refused_call_writes_nothing():
    table = CountingTable()
    limit = limiter(table)
    assert admitted(limit, 20) == 20
    with pytest.raises(RateLimited) as refused:
        limit.admit("dev", WINDOW_START_MS + 500)
    assert refused.value.retry_after == 2
    assert admitted(limit, 1000) == 0
    assert table.writes == 4
    assert admitted(limit, 20, WINDOW_START_MS + 2000) == 20  # the next window starts afresh


@pytest.mark.parametrize("environments", [2, 3, 8])
def test_several_environments_overshoot_by_at_most_k_minus_one_each_then_answer_429(environments):
    table = CountingTable()
    limits = [limiter(table) for _ in range(environments)]
    answered = 0
    for _ in range(200):  # round robin: each environment sees a share of the calls
        answered += sum(admitted(limit, 1) for limit in limits)
    assert 20 <= answered <= 20 + environments * (batch(DEFAULTS) - 1)
    assert all(admitted(limit, 5) == 0 for limit in limits)  # every environment now refuses


def test_a_write_that_pushes_past_the_allowance_refuses_that_call():
    table = CountingTable()
    table.items["dev#900000000"] = 18  # other environments' calls this window
    limit = limiter(table)
    assert admitted(limit, 4) == 4  # unwritten: this environment does not know yet
    with pytest.raises(RateLimited):
        limit.admit("dev", WINDOW_START_MS)  # the fifth call writes 5: 23 > 20
    assert table.writes == 1


def test_calls_side_by_side_in_one_environment_lose_no_count():
    """The local server may serve calls on threads: every call is written or still unwritten."""
    import threading

    table = CountingTable()
    config = Settings(developer_rate_limit=100.0, developer_burst_limit=100)  # k = 25
    limit = limiter(table, config)
    threads = [threading.Thread(target=admitted, args=(limit, 20)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(table.items.values()) + limit.counts.of("dev", WINDOW_START_MS // 1000).unwritten == 80
    assert table.writes == 3
