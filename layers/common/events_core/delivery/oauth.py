"""A webhook's credentials: its sealed custom headers and OAuth2 client credentials for receivers
behind an authorization server (RFC 6749 §4.4).

Only the outbound gate (events_core.delivery.gate) uses them, and only for a post whose passage
has cleared: the token fetch is part of the post it serves. The gate hands in its own poster for
the fetch (the SSRF guard at connection time, no redirects, the post's own deadline). A token is
kept in the function's memory until shortly before it expires (at most an hour), and fetched
again once when the receiver answers 401. A fetch that failed is remembered for
FAILED_FETCH_SECONDS, so retries and repeated test sends do not hammer the token URL. A token that
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
from events_core.delivery.sender import PostResult
from events_core.secrets import SecretBox, secret_box
from events_core.webhooks.model import Webhook

MAX_TOKEN_SECONDS = 3600
DEFAULT_TOKEN_SECONDS = 3600
TOKEN_RESPONSE_CAP = 16 * 1024
_MAX_CACHED = 1024
FAILED_FETCH_SECONDS = 30.0

Poster = Callable[..., PostResult]


class TokenUnavailable(Exception):
    """The token endpoint did not give a usable token (the message says why, never a secret)."""


@dataclasses.dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float  # monotonic seconds


@dataclasses.dataclass(frozen=True)
class _Failed:
    reason: str
    until: float  # monotonic seconds


class TokenClient:
    """Tokens per webhook version, and failed fetches for FAILED_FETCH_SECONDS. It opens nothing
    itself: the gate passes the poster of each fetch."""

    def __init__(self, box: SecretBox):
        self.box = box
        self._cache: dict[tuple[str, str, str], _Token | _Failed] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(webhook: Webhook) -> tuple[str, str, str]:
        # updatedAt moves with every change of the webhook: a new auth never gets an old token.
        return (webhook.developer_id, webhook.webhook_id, webhook.updated_at)

    def token(
        self, webhook: Webhook, *, deadline_seconds: float, post: Poster, fresh: bool = False
    ) -> tuple[str, bool]:
        """(the token, whether it was fetched now). TokenUnavailable when none can be had."""
        key = self._key(webhook)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
        if isinstance(cached, _Failed) and cached.until > now:
            raise TokenUnavailable(f"{cached.reason} (not asked again for {FAILED_FETCH_SECONDS:g} s)")
        if isinstance(cached, _Token) and not fresh and cached.refresh_at > now:
            return cached.value, False
        if deadline_seconds <= 0.05:
            raise TokenUnavailable("no time left in the attempt's deadline")
        try:
            token: _Token | _Failed = self._fetch(webhook, deadline_seconds, post)
        except TokenUnavailable as error:
            token = _Failed(str(error), time.monotonic() + FAILED_FETCH_SECONDS)
        with self._lock:
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            self._cache[key] = token
        if isinstance(token, _Failed):
            raise TokenUnavailable(token.reason)
        return token.value, True

    def _fetch(self, webhook: Webhook, deadline_seconds: float, post: Poster) -> _Token:
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
        result = post(auth["tokenUrl"], urlencode(form).encode(), headers, deadline_seconds=deadline_seconds)
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


class Credentials:
    """What the gate attaches to a cleared post: the custom headers and the bearer token."""

    def __init__(self, box: SecretBox, tokens: TokenClient):
        self.box = box
        self.tokens = tokens

    def custom_headers(self, webhook: Webhook) -> dict[str, str]:
        return self.box.custom_headers(webhook)

    def token(self, webhook: Webhook, *, deadline_seconds: float, post: Poster, fresh: bool) -> tuple[str, bool]:
        return self.tokens.token(webhook, deadline_seconds=deadline_seconds, post=post, fresh=fresh)


@aws.per_environment
def token_client(config: Settings) -> TokenClient:
    """One per execution environment (its cache serves every post the function makes)."""
    return TokenClient(secret_box(config))
