"""The one outbound gate: every POST the platform makes to a receiver passes through here.

Event deliveries, retries, recover/redeliver/redrive posts, test sends, probes and verification
challenges all go `Gate.send(context, post)`. The gate asks its steps, in order, whether the post
may go now; the first step that answers with a verdict stops it (the post is not made and the
caller learns why); when every step passes, the post is made and every step's `after` hook sees
its result (a circuit breaker counts outcomes there).

The order is fixed and meaningful:

1. ownership verification: an unverified URL receives nothing but its challenge (issue 20);
2. post budget: posts a developer asks for (recover, redeliver, test) spend tokens (issue 16, API);
3. rate slot and circuit: a receiver's own rate and its open circuit (issue 21);
4. SSRF guard: the URL may be reached at all;
5. the post itself — whose connection also resolves the host and checks every address right
   before connecting to that very address (events_core.sender), so that DNS cannot be rebound
   between a check and the connection.

Steps 1 and 3 are placeholders in this module until their issues land: each passes every post
and says so. A later step replaces its placeholder in `standard_steps`; it never wraps the sender.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from events_core import aws
from events_core.budgets import BudgetExceeded, take_posts
from events_core.config import Settings
from events_core.delivery.controls import slot_now
from events_core.delivery.sender import PostResult, sender
from events_core.errors import BadRequest, EventsApiError
from events_core.observability import logger
from events_core.webhooks.model import Webhook
from events_core.webhooks.urls import check_webhook_url
from events_core.webhooks.verification import refusal


class Purpose(StrEnum):
    """Why a post is made (a step may treat them differently: budgets apply to asked-for posts)."""

    EVENT = "event"  # the first post of a platform event
    RETRY = "retry"  # the back-off schedule
    RECOVER = "recover"
    REDELIVER = "redeliver"
    REDRIVE = "redrive"  # an operator moved it back from the dead-letter queue
    TEST = "test"
    PROBE = "probe"
    VERIFICATION = "verification"  # an ownership challenge

    @property
    def asked_for(self) -> bool:
        """Posts a developer's API call caused, one by one (what post budgets count). A circuit's
        probe is the platform's own post, never the developer's: it spends no budget."""
        return self in (Purpose.RECOVER, Purpose.REDELIVER, Purpose.TEST)


class VerdictKind(StrEnum):
    DEFER = "defer"  # not now: try again at `until_ms` (a rate slot, an open circuit, a spent budget)
    REFUSE = "refuse"  # never this post as it stands (a blocked URL, an unverified receiver)
    FAIL = "fail"  # the step could not decide (its own store failed): not the receiver's fault


@dataclass(frozen=True)
class StepVerdict:
    kind: VerdictKind
    reason: str
    until_ms: int | None = None  # for DEFER: the earliest moment worth trying again
    step: str = ""  # filled in by the gate: which step stopped the post
    # What an API caller is answered when this stops a post it asked for (a spent post budget is
    # a 429); None answers a deferral or a failure with a 503 saying nothing was posted.
    error: EventsApiError | None = None

    @classmethod
    def defer(cls, until_ms: int, reason: str, error: EventsApiError | None = None) -> "StepVerdict":
        return cls(VerdictKind.DEFER, reason, until_ms=until_ms, error=error)

    @classmethod
    def refuse(cls, reason: str) -> "StepVerdict":
        return cls(VerdictKind.REFUSE, reason)

    @classmethod
    def fail(cls, reason: str) -> "StepVerdict":
        return cls(VerdictKind.FAIL, reason)

    def wait_seconds(self, now_ms: int) -> float:
        """For a deferral: how long until it is worth trying again (0 when that moment is past)."""
        return max(0.0, ((self.until_ms or now_ms) - now_ms) / 1000)


@dataclass(frozen=True)
class OutboundContext:
    webhook: Webhook
    developer_id: str
    purpose: Purpose
    delivery_id: str
    now_ms: int


@dataclass(frozen=True)
class Post:
    body: bytes
    headers: dict[str, str]
    deadline_seconds: float


@dataclass(frozen=True)
class Passage:
    """What became of one post: its result when it was made, else the verdict that stopped it."""

    result: PostResult | None = None
    verdict: StepVerdict | None = None

    @property
    def posted(self) -> bool:
        return self.result is not None


class Step:
    """One check before a post. `check` answers None to let the post go on, or a verdict to stop
    it; `after` sees the result of every post that was made (it must not raise, and a failure in
    it is logged: the post happened either way)."""

    name = "step"

    def check(self, context: OutboundContext) -> StepVerdict | None:
        return None

    def after(self, context: OutboundContext, result: PostResult) -> None:
        return None


class OwnershipVerification(Step):
    """Refuses posts to a URL whose ownership was not yet proven by a challenge, except the challenge
    itself, when EndpointVerification is required (events_core.webhooks.verification)."""

    name = "ownership-verification"

    def __init__(self, config: Settings):
        self.config = config

    def check(self, context: OutboundContext) -> StepVerdict | None:
        reason = refusal(context.webhook, context.purpose, self.config)
        return StepVerdict.refuse(reason) if reason else None


class PostBudget(Step):
    """The posts a developer asks for spend tokens of the developer's and the webhook's buckets
    (events_core.budgets). Test sends post from the API call itself: this step takes their token,
    and a spent budget defers them with a 429 budget_exceeded for the caller. Circuit probes and
    verification challenges are the platform's own posts: they spend nothing.
    Recovered and redelivered posts took theirs when the API call queued them (so the call can
    answer 429 itself); the worker's later post of them passes here without paying twice."""

    name = "post-budget"

    def __init__(self, config: Settings, take: Callable[[str, str, int, Settings], int] = take_posts):
        self.config = config
        self._take = take

    def check(self, context: OutboundContext) -> StepVerdict | None:
        if context.purpose != Purpose.TEST:  # recover/redeliver paid when queued; the rest is not asked for
            return None
        try:
            self._take(context.developer_id, context.webhook.webhook_id, 1, self.config)
        except BudgetExceeded as spent:
            return StepVerdict.defer(context.now_ms + spent.retry_after * 1000, spent.message, error=spent)
        return None


class RateSlotAndCircuit(Step):
    """The receiver's own rate limit and circuit (issue 21; events_core.delivery.controls).

    Queued posts (events, retries, recoveries, redeliveries, redrives, circuit probes, released
    ones) pass here: the delivery worker settled their slot and circuit before taking the
    delivery's lease, so a wait is never an attempt, and it counts their outcomes per batch and
    webhook (one atomic counter, one conditional write opens the circuit). Posts made at once
    (test sends, verification challenges) take a slot here: waited for when it is near, deferred
    otherwise. They go whatever the circuit: a developer checking a receiver must reach it."""

    name = "rate-slot-and-circuit"
    IMMEDIATE = frozenset({"test", "verification"})

    def __init__(self, slot_now: Callable[[Webhook], int | None] | None = None):
        # slot_now(webhook): None when the post may go now (after a short wait), else when it may.
        self.slot_now = slot_now

    def check(self, context: OutboundContext) -> StepVerdict | None:
        if self.slot_now is None or context.purpose not in self.IMMEDIATE or context.webhook.rate_limit is None:
            return None
        until = self.slot_now(context.webhook)
        if until is None:
            return None
        return StepVerdict.defer(until, "throttled: the webhook's rate limit has no slot free now")


class SsrfGuard(Step):
    """The URL may be reached at all: the registration rules, applied again to the URL as stored
    (a URL stored under older or looser rules is refused). Every address the host resolves to is
    checked later, by the post's own connection, right before connecting to it."""

    name = "ssrf-guard"

    def __init__(self, config: Settings):
        self.config = config

    def check(self, context: OutboundContext) -> StepVerdict | None:
        try:
            check_webhook_url(context.webhook.url, self.config)
        except BadRequest as refused:
            return StepVerdict.refuse(f"blocked: {refused.message.removeprefix('url: ')}")
        return None


Poster = Callable[..., PostResult]  # (url, body, headers, *, deadline_seconds) → PostResult


class Gate:
    def __init__(self, steps: Sequence[Step], post: Poster):
        self.steps = tuple(steps)
        self._post = post

    def send(self, context: OutboundContext, post: Post) -> Passage:
        for step in self.steps:
            verdict = self._ask(step, context)
            if verdict is not None:
                return Passage(verdict=replace(verdict, step=step.name))
        result = self._post(context.webhook.url, post.body, post.headers, deadline_seconds=post.deadline_seconds)
        for step in self.steps:
            try:
                step.after(context, result)
            except Exception:  # noqa: BLE001 - the post was made: its result must reach its caller
                logger.exception("gate step failed after a post", extra={"step": step.name, **_log(context)})
        return Passage(result=result)

    @staticmethod
    def _ask(step: Step, context: OutboundContext) -> StepVerdict | None:
        try:
            return step.check(context)
        except Exception as error:  # noqa: BLE001 - a step that cannot decide stops the post, it never crashes it
            logger.exception("gate step failed", extra={"step": step.name, **_log(context)})
            return StepVerdict.fail(f"{step.name} could not decide: {type(error).__name__}")


def _log(context: OutboundContext) -> dict[str, str]:
    return {"delivery_id": context.delivery_id, "webhook_id": context.webhook.webhook_id, "purpose": context.purpose}


def standard_steps(config: Settings) -> list[Step]:
    """The gate's steps, in their order."""
    return [OwnershipVerification(config), PostBudget(config), RateSlotAndCircuit(slot_now), SsrfGuard(config)]


def standard_gate(config: Settings, post: Poster) -> Gate:
    return Gate(standard_steps(config), post)


@aws.per_environment
def gate(config: Settings) -> Gate:
    """One per execution environment, posting through the environment's pooled sender."""
    return standard_gate(config, sender(config).post)
