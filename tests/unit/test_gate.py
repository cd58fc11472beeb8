"""The one outbound gate: its steps are asked in order, the first verdict stops the post, every step
sees the result of a post that was made, and a step that breaks stops the post without crashing it."""

from dataclasses import replace

import pytest

from events_core.budgets import BudgetExceeded
from events_core.config import Settings
from events_core.delivery.gate import (
    Gate,
    OutboundContext,
    OwnershipVerification,
    Post,
    PostBudget,
    Purpose,
    RateSlotAndCircuit,
    SsrfGuard,
    Step,
    StepVerdict,
    VerdictKind,
    standard_steps,
)
from events_core.delivery.sender import PostResult
from events_core.errors import Conflict
from events_core.webhooks.model import Webhook

PUBLIC = "https://hooks.example.com/in"


def webhook(url: str = PUBLIC) -> Webhook:
    return Webhook(
        developer_id="dev",
        webhook_id="wh_1",
        event="tool.executed",
        url=url,
        created_at="2026-04-12T08:00:00.000Z",
        updated_at="2026-04-12T08:00:00.000Z",
    )


def context(url: str = PUBLIC, purpose: Purpose = Purpose.EVENT) -> OutboundContext:
    return OutboundContext(webhook(url), "dev", purpose, "msg_1", now_ms=1_000_000)


POST = Post(b"{}", {"Content-Type": "application/json"}, 5.0)


class Recording(Step):
    def __init__(self, name: str, journal: list[str], verdict: StepVerdict | None = None):
        self.name = name
        self.journal = journal
        self.verdict = verdict
        self.seen: list[PostResult] = []

    def check(self, context: OutboundContext) -> StepVerdict | None:
        self.journal.append(f"check {self.name}")
        return self.verdict

    def after(self, context: OutboundContext, result: PostResult) -> None:
        self.journal.append(f"after {self.name}")
        self.seen.append(result)


class Receiver:
    def __init__(self, journal: list[str], result: PostResult | None = None):
        self.journal = journal
        self.result = result or PostResult(status=200, latency_ms=3)
        self.posts: list[tuple[str, bytes, float]] = []

    def __call__(self, url: str, body: bytes, headers: dict[str, str], *, deadline_seconds: float) -> PostResult:
        self.journal.append("post")
        self.posts.append((url, body, deadline_seconds))
        return self.result


def test_every_step_is_asked_in_order_then_the_post_is_made_then_every_step_sees_its_result():
    journal: list[str] = []
    steps = [Recording(name, journal) for name in ("one", "two", "three")]
    receiver = Receiver(journal)
    passage = Gate(steps, receiver).send(context(), POST)
    assert journal == ["check one", "check two", "check three", "post", "after one", "after two", "after three"]
    assert passage.posted and passage.result == receiver.result and passage.verdict is None
    assert receiver.posts == [(PUBLIC, b"{}", 5.0)]
    assert all(step.seen == [receiver.result] for step in steps)


@pytest.mark.parametrize(
    "verdict",
    [
        StepVerdict.defer(1_005_000, "rate slot taken"),
        StepVerdict.refuse("unverified receiver"),
        StepVerdict.fail("budget store unreachable"),
    ],
)
def test_the_first_verdict_stops_the_post_and_the_steps_after_it(verdict):
    journal: list[str] = []
    steps = [Recording("one", journal), Recording("two", journal, verdict), Recording("three", journal)]
    receiver = Receiver(journal)
    passage = Gate(steps, receiver).send(context(), POST)
    assert journal == ["check one", "check two"]
    assert not passage.posted and receiver.posts == []
    assert passage.verdict is not None
    assert (passage.verdict.kind, passage.verdict.reason, passage.verdict.step) == (verdict.kind, verdict.reason, "two")


def test_a_deferral_says_how_long_to_wait():
    assert StepVerdict.defer(1_005_000, "later").wait_seconds(1_000_000) == 5.0
    assert StepVerdict.defer(900_000, "past").wait_seconds(1_000_000) == 0.0


def test_a_verdict_may_carry_what_an_api_caller_is_answered():
    error = Conflict("spent")
    assert StepVerdict.defer(1, "spent", error).error is error


def test_a_step_that_breaks_stops_the_post_as_a_failure_not_a_crash():
    journal: list[str] = []

    class Broken(Step):
        name = "broken"

        def check(self, context: OutboundContext) -> StepVerdict | None:
            raise RuntimeError("table unreachable")

    receiver = Receiver(journal)
    passage = Gate([Broken(), Recording("later", journal)], receiver).send(context(), POST)
    assert passage.verdict is not None and passage.verdict.kind == VerdictKind.FAIL
    assert passage.verdict.step == "broken" and "RuntimeError" in passage.verdict.reason
    assert journal == [] and receiver.posts == []


def test_a_hook_that_breaks_after_the_post_never_hides_its_result():
    journal: list[str] = []

    class BrokenHook(Step):
        name = "broken-hook"

        def after(self, context: OutboundContext, result: PostResult) -> None:
            raise RuntimeError("circuit store unreachable")

    later = Recording("later", journal)
    receiver = Receiver(journal, PostResult(status=503))
    passage = Gate([BrokenHook(), later], receiver).send(context(), POST)
    assert passage.result == receiver.result
    assert later.seen == [receiver.result]  # the hooks after the broken one still ran


def test_the_standard_order_is_verification_budget_rate_and_circuit_then_the_ssrf_guard():
    steps = standard_steps(Settings())
    assert [type(step) for step in steps] == [OwnershipVerification, PostBudget, RateSlotAndCircuit, SsrfGuard]
    assert [step.name for step in steps] == [
        "ownership-verification",
        "post-budget",
        "rate-slot-and-circuit",
        "ssrf-guard",
    ]


@pytest.mark.parametrize("purpose", list(Purpose))
def test_the_placeholders_pass_every_post_and_record_nothing(purpose):
    """They stand for the steps later issues add; until then they must not pretend to check anything."""
    for step in (RateSlotAndCircuit(),):
        assert step.check(context(purpose=purpose)) is None
        assert step.after(context(purpose=purpose), PostResult(status=200)) is None


@pytest.mark.parametrize("purpose", list(Purpose))
def test_ownership_verification_passes_everything_when_off_or_optional(purpose):
    for mode in ("off", "optional"):
        step = OwnershipVerification(Settings(endpoint_verification=mode))
        assert step.check(context(purpose=purpose)) is None


@pytest.mark.parametrize("purpose", list(Purpose))
def test_under_required_an_unverified_webhook_gets_only_its_challenge(purpose):
    step = OwnershipVerification(Settings(endpoint_verification="required"))
    for status in ("pending", "failed"):
        found = step.check(replace(context(purpose=purpose), webhook=replace(webhook(), verification_status=status)))
        if purpose == Purpose.VERIFICATION:
            assert found is None
        else:
            assert found is not None and found.kind == VerdictKind.REFUSE and "unverified" in found.reason
    for status in ("verified", None):  # verified, or created before the stack required it
        assert (
            step.check(replace(context(purpose=purpose), webhook=replace(webhook(), verification_status=status)))
            is None
        )


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/in",
        "https://169.254.169.254/latest/meta-data",
        "https://[::ffff:10.0.0.1]/in",
        "https://localhost/in",
        "https://metadata.google.internal/",
        "file:///etc/passwd",
        "http://hooks.example.com/in",  # plain http, in production
        "https://hooks.example.com:22/in",
    ],
)
def test_the_ssrf_guard_refuses_a_stored_url_production_would_not_register(url):
    journal: list[str] = []
    receiver = Receiver(journal)
    passage = Gate(standard_steps(Settings()), receiver).send(context(url), POST)
    assert passage.verdict is not None and passage.verdict.kind == VerdictKind.REFUSE
    assert passage.verdict.step == "ssrf-guard" and passage.verdict.reason.startswith("blocked: ")
    assert receiver.posts == []


def test_the_ssrf_guard_lets_a_public_host_name_through_to_the_post():
    journal: list[str] = []
    receiver = Receiver(journal)
    assert Gate(standard_steps(Settings()), receiver).send(context(), POST).posted


def test_purposes_a_developer_asks_for_are_the_ones_budgets_count():
    assert {p for p in Purpose if p.asked_for} == {
        Purpose.RECOVER,
        Purpose.REDELIVER,
        Purpose.TEST,
        Purpose.VERIFICATION,
    }


def _spent(developer_id, webhook_id, wanted, config):
    raise BudgetExceeded("this webhook's budget for recover, redeliver and test posts is spent", retry_after=7)


@pytest.mark.parametrize("purpose", list(Purpose))
def test_the_post_budget_charges_only_posts_made_from_the_api_call(purpose):
    """Test sends and challenges pay here, once every check passed; recover and redeliver paid when
    queued; the platform's own posts never."""
    taken = []
    step = PostBudget(Settings(), take=lambda *args: taken.append(args) or 1)
    assert step.check(context(purpose=purpose)) is None and not taken  # a check reserves nothing
    assert step.reserve(context(purpose=purpose)) is None
    assert bool(taken) == (purpose in (Purpose.TEST, Purpose.VERIFICATION))


@pytest.mark.parametrize("purpose", [Purpose.PROBE, Purpose.EVENT, Purpose.RETRY])
def test_a_spent_post_budget_never_stops_the_platforms_own_posts(purpose):
    """A circuit's probe is not a post the developer asked for (issue 16's budget counts recover,
    redeliver and test sends): a spent budget must not keep a broken circuit from closing."""
    assert PostBudget(Settings(), take=_spent).reserve(context(purpose=purpose)) is None


def test_a_spent_post_budget_defers_a_test_send_with_a_429_for_its_caller():
    verdict = PostBudget(Settings(), take=_spent).reserve(context(purpose=Purpose.TEST))
    assert verdict is not None and verdict.kind == VerdictKind.DEFER
    assert verdict.error is not None and (verdict.error.status, verdict.error.code) == (429, "budget_exceeded")
    assert verdict.error.headers == {"Retry-After": "7"}


# -- credentials and the token fetch (review H1): inside the gate, after the passage cleared
class FakeCredentials:
    def __init__(self, token_seconds: float = 0.0, fail: bool = False):
        self.fetches: list[float] = []
        self.token_seconds = token_seconds
        self.fail = fail

    def custom_headers(self, webhook):
        return {"X-Tenant": "acme"}

    def token(self, webhook, *, deadline_seconds, post, fresh):
        from events_core.delivery.oauth import TokenUnavailable

        self.fetches.append(deadline_seconds)
        if self.token_seconds:
            import time

            time.sleep(self.token_seconds)
        if self.fail:
            raise TokenUnavailable("HTTP 500")
        return "tok", True


OAUTH = {"type": "oauth2", "tokenUrl": "https://auth.example.com/token", "clientId": "c"}


def oauth_context(purpose: Purpose = Purpose.EVENT, **changes) -> OutboundContext:
    hooked = replace(webhook(), **{"auth": dict(OAUTH), "sealed_headers": "sealed", **changes})
    return OutboundContext(hooked, "dev", purpose, "msg_1", now_ms=1_000_000)


@pytest.mark.parametrize(
    "verdict", [StepVerdict.refuse("unverified"), StepVerdict.defer(2, "budget spent"), StepVerdict.fail("x")]
)
def test_no_token_is_fetched_for_a_post_the_gate_stops(verdict):
    journal: list[str] = []
    receiver = Receiver(journal)
    credentials = FakeCredentials()
    passage = Gate([Recording("stop", journal, verdict)], receiver, credentials=credentials).send(oauth_context(), POST)
    assert passage.verdict is not None and credentials.fetches == [] and receiver.posts == []


def test_the_token_url_is_checked_by_the_ssrf_guard_before_any_fetch():
    journal: list[str] = []
    receiver = Receiver(journal)
    credentials = FakeCredentials()
    context = oauth_context(auth={**OAUTH, "tokenUrl": "https://169.254.169.254/latest"})
    passage = Gate([SsrfGuard(Settings())], receiver, credentials=credentials).send(context, POST)
    assert passage.verdict is not None and passage.verdict.reason.startswith("blocked: auth.tokenUrl")
    assert credentials.fetches == [] and receiver.posts == []


def test_the_token_fetch_and_the_post_share_the_attempts_deadline():
    """Review L3: `left()` never went below 0.5 s, so a slow fetch overran the deadline."""
    journal: list[str] = []
    receiver = Receiver(journal)
    slow = FakeCredentials(token_seconds=0.3)
    passage = Gate([], receiver, credentials=slow).send(oauth_context(), Post(b"{}", {}, 0.25))
    assert passage.result is not None and passage.result.error.startswith("timeout") and receiver.posts == []
    quick = FakeCredentials(token_seconds=0.05)
    Gate([], receiver, credentials=quick).send(oauth_context(), Post(b"{}", {}, 1.0))
    [(_, _, seconds)] = receiver.posts
    assert seconds <= 0.96


def test_a_challenge_to_an_unproven_origin_carries_no_credential():
    journal: list[str] = []
    seen: list[dict] = []

    def receiver(url, body, headers, *, deadline_seconds):
        seen.append(headers)
        return PostResult(status=200)

    credentials = FakeCredentials()
    gate = Gate([], receiver, credentials=credentials)
    gate.send(oauth_context(Purpose.VERIFICATION, verification_status="pending"), POST)
    assert "X-Tenant" not in seen[-1] and "Authorization" not in seen[-1] and credentials.fetches == []
    proven = oauth_context(
        Purpose.VERIFICATION, verification_status="pending", verified_origin="https://hooks.example.com:443"
    )
    gate.send(proven, POST)
    assert seen[-1]["X-Tenant"] == "acme" and seen[-1]["Authorization"] == "Bearer tok"
    gate.send(oauth_context(Purpose.EVENT), POST)
    assert seen[-1]["Authorization"] == "Bearer tok"
    assert journal == []
