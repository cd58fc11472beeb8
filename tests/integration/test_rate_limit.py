"""Each developer's rate, counted in the template's RateCountersTable by the API functions (deploy
review N7): no API Gateway key per developer, a 429 in our error shape with Retry-After, the same
code locally as on AWS, so the local 429s are the deployed ones. Counts are written in batches of
k calls per execution environment (rate_limit.batch); these small allowances have k = 1."""

import pytest

from events_core import rate_limit
from events_core.config import Settings

WINDOW_START_MS = 1_800_000_000_000  # a window boundary for a 3 s window (1.8e12 is divisible by 3000)


@pytest.fixture
def frozen(monkeypatch):
    now = {"ms": WINDOW_START_MS}
    monkeypatch.setattr(rate_limit, "now_ms", lambda: now["ms"])
    return now


def test_past_the_burst_a_developer_gets_our_429_with_retry_after_and_others_do_not(make_stack, frozen):
    stack = make_stack(DeveloperRateLimit="1", DeveloperBurstLimit="3")  # 3 calls per 3 s window
    busy, calm = stack.key("busy_dev"), stack.key("calm_dev")
    answers = [stack.call("GET", "/v1/events/webhooks", key=busy) for _ in range(4)]
    assert [a.status for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json["error"]["code"] == "throttled"
    assert refused.headers["Retry-After"] == "3"
    assert stack.call("GET", "/v1/events/webhooks", key=calm).status == 200
    frozen["ms"] += 2_500  # half a second before the window ends
    assert stack.call("GET", "/v1/events/webhooks", key=busy).headers["Retry-After"] == "1"
    frozen["ms"] += 500  # the next window
    assert stack.call("GET", "/v1/events/webhooks", key=busy).status == 200


def test_all_of_a_developers_keys_share_one_count(make_stack, frozen):
    stack = make_stack(DeveloperRateLimit="1", DeveloperBurstLimit="2")
    first, second = stack.key("dev_two_keys"), stack.key("dev_two_keys")
    statuses = [stack.call("GET", "/v1/events/types", key=k).status for k in (first, second, first, second)]
    assert statuses == [200, 200, 429, 429]


def test_the_api_needs_no_api_gateway_key_per_developer(stack):
    """The 10,000-keys-per-region ceiling is gone with the usage plan."""
    routes = stack.template.api_routes("EventsApi")
    assert routes and not any(route.api_key_required for route in routes)
    assert stack.template.of_type("AWS::ApiGateway::UsagePlan") == {}
    assert stack.template.of_type("AWS::ApiGateway::ApiKey") == {}


def test_a_counter_that_cannot_be_written_lets_the_call_through(make_stack, monkeypatch):
    """Availability over strictness: the stage throttle stays the outer bound."""
    from botocore.exceptions import ClientError

    stack = make_stack(DeveloperRateLimit="1", DeveloperBurstLimit="1")
    key = stack.key("dev_counter_down")

    def refuse(*_, **__):
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem")

    monkeypatch.setattr(rate_limit, "add_calls", refuse)
    assert [stack.call("GET", "/v1/events/types", key=key).status for _ in range(3)] == [200, 200, 200]


@pytest.mark.parametrize(
    ("rate", "burst", "window", "calls"), [(10, 20, 2000, 20), (100, 20, 1000, 100), (1, 3, 3000, 3), (0.5, 1, 2000, 1)]
)
def test_the_window_is_burst_over_rate_and_never_under_a_second(rate, burst, window, calls):
    """A burst below the rate still allows the rate: never a limit stricter than both parameters."""
    config = Settings(developer_rate_limit=rate, developer_burst_limit=burst)
    assert (rate_limit.window_ms(config), rate_limit.allowance(config)) == (window, calls)


def test_default_limits_write_once_per_five_calls_and_still_answer_429(make_stack, frozen, monkeypatch):
    """The production defaults (20 calls per 2 s): 4 writes for 20 calls, our 429 on the 21st, and
    no write for a refused call (a counter write per call priced the API over $5.00 a million)."""
    stack = make_stack()
    key = stack.key("dev_at_default_limits")
    writes = []
    real_add = rate_limit.add_calls
    monkeypatch.setattr(rate_limit, "add_calls", lambda *a: writes.append(a[2]) or real_add(*a))
    answers = [stack.call("GET", "/v1/events/types", key=key) for _ in range(25)]
    assert [a.status for a in answers] == [200] * 20 + [429] * 5
    assert answers[20].headers["Retry-After"] == "2"
    assert writes == [5, 5, 5, 5]
    frozen["ms"] += 2_000
    assert stack.call("GET", "/v1/events/types", key=key).status == 200
