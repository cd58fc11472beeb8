"""The one outbound gate: every request the platform makes to a receiver passes through here.

Event deliveries, retries, recover/redeliver/redrive posts, test sends, circuit probes and
verification challenges all go `Gate.send(context, post)`, and so does the OAuth2 token fetch a
post needs: nothing else in the code base calls the sender or opens a socket (a static test holds
this, and a socket-level test drives every purpose). The gate asks its steps, in order, whether
the post may go now; the first verdict stops it (nothing leaves and the caller learns why). Only
when every step passed does any step reserve anything (a budget token, a rate slot): a refused
post reserves nothing. Then the post's credentials are attached, its token fetched if it needs
one, and the post made; every step's `after` hook sees its result.

The order is fixed and meaningful:

1. ownership verification: an unverified URL receives nothing but its challenge;
2. post budget: posts a developer asks for (recover, redeliver, test, challenge) spend tokens;
3. rate slot and circuit: a receiver's own rate and its open circuit;
4. SSRF guard: the URL (and the token URL, when the post carries a token) may be reached at all;
5. credentials: the webhook's custom headers and OAuth2 bearer token, only to the origin they were
   set for, and never in a challenge to an origin that has not been proven; the token is fetched
   here, after the post's passage cleared and within the post's own deadline;
6. the post itself, whose connection resolves the host and checks every address right before
   connecting to that very address (events_core.delivery.sender): DNS cannot be rebound between
   a check and the connection.
"""

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from events_core import aws
from events_core.budgets import BudgetExceeded, take_posts
from events_core.config import Settings
from events_core.delivery.controls import slot_now, slot_out_of_reach
from events_core.delivery.sender import PostResult, Sender, sender
from events_core.errors import BadRequest, EventsApiError, RateLimited
from events_core.netguard import on_behalf_of
from events_core.observability import logger
from events_core.secrets import secret_box
from events_core.webhooks.model import Webhook
from events_core.webhooks.ownership import proven_origin, refusal
from events_core.webhooks.urls import check_webhook_url, origin

if TYPE_CHECKING:
    from events_core.delivery.oauth import Credentials


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
        return self in (Purpose.RECOVER, Purpose.REDELIVER, Purpose.TEST, Purpose.VERIFICATION)

    @property
    def immediate(self) -> bool:
        """Posted from the API call itself (not queued): the gate takes their budget and slot."""
        return self in (Purpose.TEST, Purpose.VERIFICATION)


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
    # What an API caller is answered when this stops a post it asked for (a spent post budget,
    # a throttled send: 429 with Retry-After); None answers a failure with a 503.
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
    headers: dict[str, str]  # the service's own headers; the gate adds the webhook's credentials
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
    it, and reserves nothing; `reserve` runs only once every step's check passed (it takes what
    the post spends: a budget token, a rate slot); `after` sees the result of every post that was
    made (it must not raise, and a failure in it is logged: the post happened either way)."""

    name = "step"

    def check(self, context: OutboundContext) -> StepVerdict | None:
        return None

    def reserve(self, context: OutboundContext) -> StepVerdict | None:
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
    (events_core.budgets). Test sends and challenges post from the API call itself: this step
    takes their token, and a spent budget defers them with a 429 budget_exceeded for the caller.
    Circuit probes are the platform's own posts: they spend nothing. Recovered and redelivered
    posts took theirs when the API call queued them (so the call can answer 429 itself); the
    worker's later post of them passes here without paying twice."""

    name = "post-budget"

    def __init__(self, config: Settings, take: Callable[[str, str, int, Settings], int] = take_posts):
        self.config = config
        self._take = take

    def reserve(self, context: OutboundContext) -> StepVerdict | None:
        if not context.purpose.immediate:  # recover/redeliver paid when queued; the rest is not asked for
            return None
        try:
            self._take(context.developer_id, context.webhook.webhook_id, 1, self.config)
        except BudgetExceeded as spent:
            return StepVerdict.defer(context.now_ms + spent.retry_after * 1000, spent.message, error=spent)
        return None

    # The budget has no separate check: its reservation is one conditional write that either
    # takes a token or changes nothing.
    check = Step.check


class RateSlotAndCircuit(Step):
    """The receiver's own rate limit and circuit (events_core.delivery.controls).

    Queued posts (events, retries, recoveries, redeliveries, redrives, circuit probes, released
    ones) pass here: the delivery worker settled their slot and circuit before taking the
    delivery's lease, so a wait is never an attempt. Posts made at once (test sends, challenges)
    take a slot here, but only a slot within reach (waited for in-process): a webhook whose
    next free slot is further away answers 429 `throttled` with Retry-After, and nothing is
    reserved, so the next real event keeps its place. They go whatever the circuit: a developer
    checking a receiver must reach it."""

    name = "rate-slot-and-circuit"

    def __init__(
        self,
        take: Callable[[Webhook], int | None] | None = None,
        free_at: Callable[[Webhook, int], int | None] | None = None,
    ):
        # take(webhook): None when the post may go now (after a short wait), else when it may.
        self.take = take
        # free_at(webhook, now): the next free slot when it is out of reach (a pure read), else None.
        self.free_at = free_at

    def _applies(self, context: OutboundContext) -> bool:
        return context.purpose.immediate and context.webhook.rate_limit is not None

    def check(self, context: OutboundContext) -> StepVerdict | None:
        if self.free_at is None or not self._applies(context):
            return None
        until = self.free_at(context.webhook, context.now_ms)
        return None if until is None else _throttled(context, until)

    def reserve(self, context: OutboundContext) -> StepVerdict | None:
        if self.take is None or not self._applies(context):
            return None
        until = self.take(context.webhook)
        return None if until is None else _throttled(context, until)


def _throttled(context: OutboundContext, until_ms: int) -> StepVerdict:
    wait = max(1, -(-(until_ms - context.now_ms) // 1000))
    message = f"the webhook's rate limit has no slot free for {wait} s; nothing was posted, retry after it"
    return StepVerdict.defer(until_ms, message, error=RateLimited(message, retry_after=wait))


def carries_credentials(context: OutboundContext) -> bool:
    """Whether this post may carry the webhook's custom headers and OAuth2 token. They are bound to
    the origin of the URL they were set with (a PATCH that moves the URL to another origin drops
    them unless it gives them again), and a challenge carries them only to an origin that has
    already proven itself: a new URL never learns secrets by being asked to verify."""
    if context.purpose != Purpose.VERIFICATION:
        return True
    return proven_origin(context.webhook) == origin(context.webhook.url)


class SsrfGuard(Step):
    """The URL may be reached at all: the registration rules, applied again to the URL as stored
    (a URL stored under older or looser rules is refused), and to the OAuth2 token URL when the
    post will fetch a token. Every address a host resolves to is checked later, by the request's
    own connection, right before connecting to it."""

    name = "ssrf-guard"

    def __init__(self, config: Settings):
        self.config = config

    def check(self, context: OutboundContext) -> StepVerdict | None:
        auth = context.webhook.auth
        urls = [("", context.webhook.url)]
        if auth and carries_credentials(context):
            urls.append(("auth.tokenUrl: ", auth.get("tokenUrl", "")))
        for label, url in urls:
            try:
                check_webhook_url(url, self.config)
            except BadRequest as refused:
                return StepVerdict.refuse(f"blocked: {label}{refused.message.removeprefix('url: ')}")
        return None


Poster = Callable[..., PostResult]  # (url, body, headers, *, deadline_seconds) → PostResult


class Gate:
    """The steps, the receivers' poster, and (when the webhooks carry them) the credentials with
    the token endpoints' poster. Nothing leaves through `post` or `token_post` but from here."""

    def __init__(
        self,
        steps: Sequence[Step],
        post: Poster,
        *,
        credentials: "Credentials | None" = None,
        token_post: Poster | None = None,
        repost_allowed: Callable[[Webhook], bool] = lambda webhook: True,
        credentials_source: "Callable[[], tuple[Credentials, Poster]] | None" = None,
    ):
        self.steps = tuple(steps)
        self._post = post
        self._token_post = token_post or post
        self._credentials = credentials
        self._credentials_source = credentials_source
        self._repost_allowed = repost_allowed

    @property
    def credentials(self) -> "Credentials | None":
        """The credentials, made on the first post that carries any when the gate was given a
        source: most functions' webhooks carry none and never load the OAuth2 client."""
        if self._credentials is None and self._credentials_source is not None:
            self._credentials, self._token_post = self._credentials_source()
            self._credentials_source = None
        return self._credentials

    def send(self, context: OutboundContext, post: Post) -> Passage:
        verdict = self._clear(context)
        if verdict is not None:
            return Passage(verdict=verdict)
        passage, fetched = self._go(context, post, time.monotonic(), fresh=False)
        result = passage.result
        if (
            result is not None
            and result.status == 401
            and not fetched
            and context.webhook.auth
            and carries_credentials(context)
            and self._repost_allowed(context.webhook)
            and self._clear(context) is None
        ):
            # The cached token was refused: one fresh token and one more post, a passage of its own.
            left = post.deadline_seconds - result.latency_ms / 1000
            again, _ = self._go(context, replace(post, deadline_seconds=left), time.monotonic(), fresh=True)
            retried = again.result
            if retried is not None and retried.status is None and retried.error and retried.error.startswith("oauth2"):
                return Passage(result=replace(retried, error=f"HTTP 401, then {retried.error}"))
            return again
        return passage

    def _clear(self, context: OutboundContext) -> StepVerdict | None:
        """Every step's check, then (all passed) every step's reservation: the first verdict stops."""
        for phase in ("check", "reserve"):
            for step in self.steps:
                verdict = self._ask(step, phase, context)
                if verdict is not None:
                    return replace(verdict, step=step.name)
        return None

    def _go(self, context: OutboundContext, post: Post, started: float, *, fresh: bool) -> tuple[Passage, bool]:
        """The cleared post: its credentials, its token (fetched now, within its deadline), the
        post. Also whether the token was fetched for it (a 401 to a token just fetched is final).
        Name lookups are counted for the post's developer (netguard: DNS fairness)."""
        with on_behalf_of(context.developer_id):
            return self._go_as_tenant(context, post, started, fresh=fresh)

    def _go_as_tenant(
        self, context: OutboundContext, post: Post, started: float, *, fresh: bool
    ) -> tuple[Passage, bool]:

        def left() -> float:
            return post.deadline_seconds - (time.monotonic() - started)

        headers = dict(post.headers)
        webhook = context.webhook
        fetched = False
        if carries_credentials(context) and (webhook.sealed_headers or webhook.auth):
            credentials = self.credentials
            if credentials is None:
                return Passage(result=PostResult(error="credentials: this gate carries none")), False
            headers = {**credentials.custom_headers(webhook), **headers}  # the service's own names win
            if webhook.auth:
                from events_core.delivery.oauth import TokenUnavailable  # loaded with the credentials

                try:
                    token, fetched = credentials.token(
                        webhook, deadline_seconds=left(), fresh=fresh, post=self._token_post
                    )
                except TokenUnavailable as error:
                    return Passage(result=PostResult(error=f"oauth2 token: {error}")), True
                headers["Authorization"] = f"Bearer {token}"
        seconds = left() if "Authorization" in headers and webhook.auth else post.deadline_seconds
        if seconds <= 0.05:
            return Passage(result=PostResult(error="timeout: the oauth2 token fetch used the attempt's deadline")), True
        result = self._post(webhook.url, post.body, headers, deadline_seconds=seconds)
        for step in self.steps:
            try:
                step.after(context, result)
            except Exception:  # noqa: BLE001 - the post was made: its result must reach its caller
                logger.exception("gate step failed after a post", extra={"step": step.name, **_log(context)})
        return Passage(result=result), fetched

    @staticmethod
    def _ask(step: Step, phase: str, context: OutboundContext) -> StepVerdict | None:
        try:
            return step.check(context) if phase == "check" else step.reserve(context)
        except Exception as error:  # noqa: BLE001 - a step that cannot decide stops the post, it never crashes it
            logger.exception("gate step failed", extra={"step": step.name, **_log(context)})
            return StepVerdict.fail(f"{step.name} could not decide: {type(error).__name__}")


def _log(context: OutboundContext) -> dict[str, str]:
    return {"delivery_id": context.delivery_id, "webhook_id": context.webhook.webhook_id, "purpose": context.purpose}


def standard_steps(config: Settings) -> list[Step]:
    """The gate's steps, in their order."""
    return [
        OwnershipVerification(config),
        PostBudget(config),
        RateSlotAndCircuit(slot_now, slot_out_of_reach),
        SsrfGuard(config),
    ]


def _reslot(webhook: Webhook) -> bool:
    """A re-post after a 401 takes its own rate slot (near, or none)."""
    return webhook.rate_limit is None or slot_now(webhook) is None


def standard_credentials(config: Settings) -> "tuple[Credentials, Poster]":
    """The webhooks' credentials and a sender for token endpoints, whose answers are capped smaller."""
    from events_core.delivery.oauth import TOKEN_RESPONSE_CAP, Credentials, token_client

    token_sender = Sender(dataclasses.replace(config, response_cap_bytes=TOKEN_RESPONSE_CAP))
    return Credentials(secret_box(config), token_client(config)), token_sender.post


def standard_gate(config: Settings, post: Poster | None = None, *, credentials: "Credentials | None" = None) -> Gate:
    """The standard steps over `post` (a fresh sender by default), with the webhooks' credentials
    (made when a post first carries them) and a sender for token endpoints."""
    if credentials is not None:
        _, token_post = standard_credentials(config)
        source = None
    else:
        token_post, source = None, lambda: standard_credentials(config)
    return Gate(
        standard_steps(config),
        post or Sender(config).post,
        credentials=credentials,
        token_post=token_post,
        repost_allowed=_reslot,
        credentials_source=source,
    )


@aws.per_environment
def gate(config: Settings) -> Gate:
    """One per execution environment, posting through the environment's pooled sender."""
    return standard_gate(config, sender(config).post)
