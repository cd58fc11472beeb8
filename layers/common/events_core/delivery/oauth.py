"""OAuth2 client credentials for receivers behind an authorization server (RFC 6749 §4.4).

The token is fetched through the same sender as every post (SSRF guard, no redirects, one
deadline shared with the post it is for), kept in the function's memory until shortly before it
expires (at most an hour), and fetched again once when the receiver answers 401. A token that
cannot be had fails the attempt with the reason (never the secret): no post goes without it.
"""

import base64
import dataclasses
import json
import threading
import time
from collections.abc import Callable
from urllib.parse import quote, urlencode

from events_core import aws
from events_core.config import Settings
from events_core.delivery.controls import slot_now
from events_core.delivery.gate import Gate, OutboundContext, Passage, Post
from events_core.delivery.sender import PostResult, Sender
from events_core.secrets import SecretBox, secret_box
from events_core.webhooks.model import Webhook

MAX_TOKEN_SECONDS = 3600
DEFAULT_TOKEN_SECONDS = 3600
TOKEN_RESPONSE_CAP = 16 * 1024
_MAX_CACHED = 1024


class TokenUnavailable(Exception):
    """The token endpoint did not give a usable token (the message says why, never a secret)."""


@dataclasses.dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float  # monotonic seconds


class TokenClient:
    def __init__(self, config: Settings, box: SecretBox, *, post: Callable[..., PostResult] | None = None):
        self.box = box
        self._post = post or Sender(dataclasses.replace(config, response_cap_bytes=TOKEN_RESPONSE_CAP)).post
        self._cache: dict[tuple[str, str, str], _Token] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(webhook: Webhook) -> tuple[str, str, str]:
        # updatedAt moves with every change of the webhook: a new auth never gets an old token.
        return (webhook.developer_id, webhook.webhook_id, webhook.updated_at)

    def token(self, webhook: Webhook, *, deadline_seconds: float, fresh: bool = False) -> str:
        key = self._key(webhook)
        with self._lock:
            cached = self._cache.get(key)
        if cached and not fresh and cached.refresh_at > time.monotonic():
            return cached.value
        token = self._fetch(webhook, deadline_seconds)
        with self._lock:
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            self._cache[key] = token
        return token.value

    def _fetch(self, webhook: Webhook, deadline_seconds: float) -> _Token:
        auth = webhook.auth or {}
        if not webhook.sealed_client_secret:
            raise TokenUnavailable("no client secret stored")
        secret = self.box.open(webhook.sealed_client_secret, webhook.developer_id, webhook.webhook_id, purpose="oauth2")
        form = {"grant_type": "client_credentials"}
        form.update({name: auth[name] for name in ("scope", "audience") if auth.get(name)})
        basic = base64.b64encode(f"{quote(auth['clientId'], safe='')}:{quote(secret, safe='')}".encode()).decode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "Authorization": f"Basic {basic}",  # client_secret_basic (RFC 6749 §2.3.1)
            "User-Agent": "events-api-webhooks/1",
        }
        started = time.monotonic()
        result = self._post(auth["tokenUrl"], urlencode(form).encode(), headers, deadline_seconds=deadline_seconds)
        if not result.ok:
            raise TokenUnavailable(f"{result.describe()}{_oauth_error(result.excerpt)}")
        try:
            answer = json.loads(result.excerpt)
        except ValueError:
            raise TokenUnavailable("the answer is not JSON") from None
        value = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(value, str) or not value or any(not 0x21 <= ord(c) <= 0x7E for c in value):
            raise TokenUnavailable("the answer has no usable access_token")
        lifetime = answer.get("expires_in", DEFAULT_TOKEN_SECONDS)
        if not isinstance(lifetime, int | float) or isinstance(lifetime, bool) or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_SECONDS
        lifetime = min(float(lifetime), MAX_TOKEN_SECONDS)
        # Refreshed a little before it expires: 10% of its life, at most a minute.
        return _Token(value, started + lifetime - min(lifetime * 0.1, 60.0))


def _oauth_error(excerpt: str) -> str:
    try:
        answer = json.loads(excerpt)
    except ValueError:
        return ""
    error = answer.get("error") if isinstance(answer, dict) else None
    return f" {str(error)[:64]}" if isinstance(error, str) else ""


def with_token(
    client: TokenClient,
    webhook: Webhook,
    headers: dict[str, str],
    deadline_seconds: float,
    post: Callable[[dict[str, str], float], PostResult],
    repost_allowed: Callable[[], bool] = lambda: True,
) -> PostResult:
    """Post with the webhook's bearer token (when it has OAuth2): `post(headers, seconds_left)`.
    A 401 to a cached token fetches a fresh one and posts once more (if `repost_allowed`, which
    takes the re-post's rate slot), within the same deadline. A token that cannot be had is the
    attempt's failure: `oauth2 token: <why>`."""
    if not webhook.auth:
        return post(headers, deadline_seconds)
    started = time.monotonic()

    def left() -> float:
        return max(0.5, deadline_seconds - (time.monotonic() - started))

    try:
        token = client.token(webhook, deadline_seconds=deadline_seconds)
    except TokenUnavailable as error:
        return PostResult(error=f"oauth2 token: {error}")
    result = post({**headers, "Authorization": f"Bearer {token}"}, left())
    if result.status != 401 or not repost_allowed():
        return result
    try:
        fresh = client.token(webhook, deadline_seconds=left(), fresh=True)
    except TokenUnavailable as error:
        return PostResult(error=f"HTTP 401, then oauth2 token: {error}", latency_ms=result.latency_ms)
    return post({**headers, "Authorization": f"Bearer {fresh}"}, left())


def send_authorized(gate: Gate, client: TokenClient, context: OutboundContext, post: Post) -> Passage:
    """Through the gate, with the webhook's OAuth2 bearer token when it has one (a 401 gets one
    fresh token and one re-post, which takes its own rate slot)."""
    passages: list[Passage] = []

    def send(headers: dict[str, str], seconds: float) -> PostResult:
        passages.append(gate.send(context, dataclasses.replace(post, headers=headers, deadline_seconds=seconds)))
        return passages[-1].result or PostResult(error=f"not posted: {passages[-1].verdict}")

    webhook = context.webhook
    result = with_token(
        client,
        webhook,
        post.headers,
        post.deadline_seconds,
        send,
        lambda: webhook.rate_limit is None or slot_now(webhook) is None,
    )
    if passages and not any(passage.posted for passage in passages):
        return passages[0]  # the gate stopped it: its verdict decides
    return Passage(result=result)


@aws.per_environment
def token_client(config: Settings) -> TokenClient:
    return TokenClient(config, secret_box(config))
