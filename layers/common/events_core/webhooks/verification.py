"""Ownership verification: a receiver proves it wants the posts before it gets them.

Stack parameter EndpointVerification:
- off (default): nothing changes; webhooks carry no `verification` and the reference's calls are as published.
- optional: new webhooks, and ones whose URL changes, are `pending` until a challenge passes; they
  receive events meanwhile (the state is information).
- required: a new webhook, or one whose URL changed, is `enabled: false`, `disabledReason:
  "unverified"` and receives nothing until it verifies; test, redeliver and recover answer 409
  `unverified`. Webhooks created before the switch carry no verification state and keep receiving
  (`eventsapi webhooks require-verification` marks them pending when every URL must be proven).

The challenge is a signed POST (never a GET) with X-Webhook-Event: webhook.verification and body
{"event": "webhook.verification", "timestamp", "data": {"challenge", "webhookId", "verifyUrl"}}. It
passes when a 2xx comes within 10 s answering the challenge as text or as JSON {"challenge": "…"}.
`verifyUrl` is the manual path for receivers that cannot echo: a single-use link, valid 24 hours,
that only someone who reads what arrives at the URL can know. Its base is configuration (the stack
parameter VerifyLinkBase; by default the stage's own URL, locally the run's API URL), never a
request header; its token is opaque (random, looked up server-side: it names no developer). GET
shows what the link would confirm; POST confirms it.

Credentials are bound to an origin: a challenge carries the webhook's custom headers and OAuth2
token only to an origin that has already proven itself (`proven_origin`), never to a new URL.
A change of `auth.tokenUrl` makes the webhook prove itself again, like a change of `url`.
"""

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from events_core import aws
from events_core.aws import conditional_update
from events_core.budgets import PostBudgets
from events_core.clock import is_id, iso_ms, now_ms, parse_iso
from events_core.config import Settings
from events_core.errors import EventsApiError
from events_core.webhooks.model import DisabledReason, Webhook
from events_core.webhooks.ownership import FAILED, OFF, PENDING, REQUIRED, VERIFIED, mode, require_verified, unverified
from events_core.webhooks.repository import COUNTER, WebhookRepository
from events_core.webhooks.urls import origin

EVENT = "webhook.verification"
CHALLENGE_SECONDS = 10.0
LINK_SECONDS = 24 * 3600
WEBHOOK_EVERY_SECONDS = 10  # at most one challenge per webhook this often
DEVELOPER_PER_HOUR = 30  # and this many per developer an hour: never a cannon against third parties
_VERIFICATION_FIELDS = ("verificationStatus", "verifiedAt", "verifyTokenHash", "verifyTokenUntil")
# ControlTable items: the link token's hash → its webhook, until it expires (the data map finds them
# from the webhook's verifyTokenHash).
LINK_PREFIX = "verifylink#"
_ENABLING_FIELDS = ("enabled", "disabledReason", "disabledAt", "activeKey", "failCount", "alertPending")


class TooSoon(EventsApiError):
    status = 429
    code = "throttled"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = max(1, retry_after)


def _pending(webhook: Webhook, config: Settings, at_ms: int) -> set[str]:
    """Make `webhook` pending (disabled too under `required`); the stored attributes that changed."""
    webhook.verification_status, webhook.verified_at = PENDING, None
    webhook.verify_token_hash = webhook.verify_token_until_ms = None
    names = set(_VERIFICATION_FIELDS)
    if mode(config) == REQUIRED and webhook.enabled:  # one paused by hand stays paused once verified
        webhook.enabled, webhook.disabled_reason, webhook.disabled_at_ms = False, DisabledReason.UNVERIFIED, at_ms
        names |= {"enabled", "disabledReason", "disabledAt", "activeKey"}
    return names


def on_register(webhook: Webhook, config: Settings) -> None:
    if mode(config) != OFF:
        _pending(webhook, config, now_ms())


def on_change(before: Webhook, after: Webhook, names: set[str], config: Settings, at_ms: int) -> None:
    """A changed URL or token URL must prove itself again; an unverified webhook cannot be
    re-enabled by a PATCH."""
    if mode(config) == OFF:
        return
    moved = "url" in names and after.url != before.url
    token_moved = "auth" in names and (after.auth or {}).get("tokenUrl") not in (
        None,
        (before.auth or {}).get("tokenUrl"),
    )
    if moved or token_moved:
        names |= _pending(after, config, at_ms)
    elif after.enabled and not before.enabled and unverified(after, config):
        require_verified(after, config)


# -- the challenge
@dataclass(frozen=True)
class Outcome:
    verified: bool
    error: str | None = None
    latency_ms: int = 0

    def public(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"verified": self.verified, "latencyMs": self.latency_ms}
        if self.error:
            answer["error"] = self.error
        return answer


def _hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def echoed(excerpt: str, challenge: str) -> bool:
    """The answer is the challenge as text, or JSON {"challenge": "…"} (compared in constant time)."""
    text = excerpt.strip()
    if hmac.compare_digest(text.encode(), challenge.encode()):
        return True
    try:
        found = json.loads(text)
    except ValueError:
        return False
    given = found.get("challenge") if isinstance(found, dict) else None
    return isinstance(given, str) and hmac.compare_digest(given.encode(), challenge.encode())


def _bump(webhook: Webhook, at_ms: int) -> None:
    webhook.updated_at = iso_ms(max(at_ms, parse_iso(webhook.updated_at) + 1))


def _verified(webhook: Webhook, at_ms: int) -> tuple[Webhook, set[str]]:
    done = dataclasses.replace(webhook, verification_status=VERIFIED, verified_at=iso_ms(at_ms))
    done.verify_token_hash = done.verify_token_until_ms = None
    done.verified_origin = origin(webhook.url)
    names = {*_VERIFICATION_FIELDS, "updatedAt", "verifiedOrigin"}
    if webhook.disabled_reason == DisabledReason.UNVERIFIED:
        done.enabled, done.disabled_reason, done.disabled_at_ms = True, None, None
        done.fail_count, done.alert_pending = 0, False
        names |= set(_ENABLING_FIELDS)
    _bump(done, at_ms)
    return done, names


class Verifier:
    def __init__(self, config: Settings, repository: WebhookRepository | None = None):
        self.config = config
        self.repository = repository or WebhookRepository()

    def _throttle(self, webhook: Webhook, at_ms: int) -> None:
        table = self.repository.table
        if not conditional_update(
            table,
            Key={"developerId": webhook.developer_id, "webhookId": webhook.webhook_id},
            UpdateExpression="SET verifyTriedAt = :now",
            ConditionExpression="attribute_exists(webhookId) AND"
            " (attribute_not_exists(verifyTriedAt) OR verifyTriedAt <= :floor)",
            ExpressionAttributeValues={":now": at_ms, ":floor": at_ms - WEBHOOK_EVERY_SECONDS * 1000},
        ):
            raise TooSoon(f"at most one challenge per webhook every {WEBHOOK_EVERY_SECONDS} s", WEBHOOK_EVERY_SECONDS)
        key = {"developerId": webhook.developer_id, "webhookId": COUNTER}
        hour = 3600 * 1000
        counted = conditional_update(
            table,
            Key=key,
            UpdateExpression="ADD verifyCount :one",
            ConditionExpression="verifyWindow > :floor AND verifyCount < :most",
            ExpressionAttributeValues={":one": 1, ":floor": at_ms - hour, ":most": DEVELOPER_PER_HOUR},
        ) or conditional_update(
            table,
            Key=key,
            UpdateExpression="SET verifyWindow = :now, verifyCount = :one",
            ConditionExpression="attribute_not_exists(verifyWindow) OR verifyWindow <= :floor",
            ExpressionAttributeValues={":one": 1, ":now": at_ms, ":floor": at_ms - hour},
        )
        if not counted:
            item = table.get_item(Key=key, ConsistentRead=True).get("Item") or {}
            wait = (int(item.get("verifyWindow", at_ms)) + hour - at_ms) // 1000
            raise TooSoon(f"at most {DEVELOPER_PER_HOUR} challenges per developer an hour", int(wait) + 1)

    def challenge(self, webhook: Webhook, link_base: str, *, seconds_left: float) -> Outcome:
        """Send the challenge now (through the outbound gate) and record the outcome."""
        from events_core.delivery import challenge as sending  # the post's code only where a challenge is sent

        at = now_ms()
        # A challenge spends the post budget (in the gate); a spent one refuses it before the
        # challenge limits below count it.
        PostBudgets(self.config).check(webhook.developer_id, webhook.webhook_id, now_ms=at)
        self._throttle(webhook, at)
        nonce = secrets.token_urlsafe(24)
        self._links.put_item(
            Item={
                "controlKey": LINK_PREFIX + _hash(nonce),
                "developerId": webhook.developer_id,
                "webhookId": webhook.webhook_id,
                "expiresAt": at // 1000 + LINK_SECONDS,
            }
        )
        armed = dataclasses.replace(
            webhook,
            verification_status=webhook.verification_status or PENDING,
            verify_token_hash=_hash(nonce),
            verify_token_until_ms=at + LINK_SECONDS * 1000,
        )
        _bump(armed, at)
        if not self.repository.save_fields(armed, {*_VERIFICATION_FIELDS, "updatedAt"}, webhook.updated_at):
            return Outcome(False, "the webhook changed meanwhile; try again")
        challenge = secrets.token_urlsafe(32)
        link = f"{link_base.rstrip('/')}/v1/events/verify?token={nonce}"
        result = sending.post_challenge(
            armed, challenge, link, self.config, deadline_seconds=min(CHALLENGE_SECONDS, max(1.0, seconds_left))
        )
        if result.ok and echoed(result.excerpt, challenge):
            done, names = _verified(armed, now_ms())
            if self.repository.save_fields(done, names, armed.updated_at):
                return Outcome(True, latency_ms=result.latency_ms)
            return Outcome(False, "the webhook changed meanwhile; try again", result.latency_ms)
        error = (
            "the answer did not echo the challenge"
            if result.ok
            else f"the receiver did not accept the challenge: {result.describe()}"
        )
        failed = dataclasses.replace(armed, verification_status=FAILED)
        _bump(failed, now_ms())
        self.repository.save_fields(failed, {"verificationStatus", "updatedAt"}, armed.updated_at)
        return Outcome(False, error, result.latency_ms)

    def pending_link(self, token: str) -> Webhook | None:
        """What the link would confirm (nothing is changed); None when used, expired or unknown."""
        webhook = self._linked(token)
        at = now_ms()
        if (
            webhook is None
            or webhook.verify_token_hash is None
            or not hmac.compare_digest(webhook.verify_token_hash, _hash(token))
            or (webhook.verify_token_until_ms or 0) <= at
        ):
            return None
        return webhook

    def redeem(self, token: str) -> Webhook | None:
        """The manual link: verifies its webhook once, within its day; None when used, expired or unknown."""
        webhook = self.pending_link(token)
        if webhook is None:
            return None
        done, names = _verified(webhook, now_ms())
        if not self.repository.save_fields(done, names, webhook.updated_at):
            return None
        self._links.delete_item(Key={"controlKey": LINK_PREFIX + _hash(token)})
        return done

    def _linked(self, token: str) -> Webhook | None:
        """The webhook an opaque link token names (looked up server-side). Links handed out before
        tokens were opaque (base64 of developer, webhook and nonce) still work until they expire."""
        found = self._links.get_item(Key={"controlKey": LINK_PREFIX + _hash(token)}, ConsistentRead=True).get("Item")
        if found:
            developer_id, webhook_id = str(found["developerId"]), str(found["webhookId"])
        else:
            legacy = _legacy_token(token)
            if legacy is None:
                return None
            developer_id, webhook_id, nonce = legacy
            webhook = self.repository.get(developer_id, webhook_id) if developer_id and is_id(webhook_id) else None
            # The legacy token's secret part is its nonce: compared as the nonce below.
            return (
                dataclasses.replace(webhook, verify_token_hash=_legacy_hash(webhook, nonce, token)) if webhook else None
            )
        return self.repository.get(developer_id, webhook_id) if is_id(webhook_id) else None

    @property
    def _links(self) -> Any:
        return aws.table(self.config.control_table)


def _legacy_token(token: str) -> tuple[str, str, str] | None:
    try:
        padded = token + "=" * (-len(token) % 4)
        developer_id, webhook_id, nonce = base64.urlsafe_b64decode(padded.encode("ascii")).decode().split("\n")
    except (ValueError, UnicodeError, binascii.Error):
        return None
    return developer_id, webhook_id, nonce


def _legacy_hash(webhook: Webhook, nonce: str, token: str) -> str | None:
    """A legacy link stored the nonce's hash: when it matches, the token's own hash stands in for it."""
    if webhook.verify_token_hash is None or not hmac.compare_digest(webhook.verify_token_hash, _hash(nonce)):
        return None
    return _hash(token)
