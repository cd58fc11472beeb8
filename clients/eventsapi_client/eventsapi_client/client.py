"""`Client`: one method for every developer operation of openapi.yaml (`x-audience: developer`).

Each method names its operation (`@operation("createWebhook")`), which is how the coverage test
finds that none is missing. Lists that page by cursor are iterators that follow `nextCursor`.
A 429 is waited out through `Retry-After`, a bounded number of times, then raised as `Throttled`.
"""

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any, TypedDict, TypeVar, cast
from urllib.parse import quote, urlencode

from eventsapi_client import settings
from eventsapi_client.errors import BadRequest, Forbidden, NoAnswer, NotFound, Throttled, error_for

USER_AGENT = "eventsapi-client/0.1"
F = TypeVar("F", bound=Callable[..., Any])


def operation(operation_id: str) -> Callable[[F], F]:
    """Mark a method as the client's call of one openapi.yaml operation."""

    def mark(method: F) -> F:
        method.__operation__ = operation_id  # type: ignore[attr-defined]
        return method

    return mark


def operations() -> dict[str, str]:
    """operationId → the Client method that calls it."""
    return {
        member.__operation__: name
        for name, member in vars(Client).items()
        if callable(member) and hasattr(member, "__operation__")
    }


class Webhook(TypedDict, total=False):
    id: str
    _id: str
    developerId: str
    event: str  # one type, "<namespace>.*" or "*"; posts carry the type that arrived
    url: str
    filter: dict[str, Any]
    enabled: bool
    disabledReason: str | None
    description: str
    failCount: int
    lastTriggered: str | None
    createdAt: str
    updatedAt: str
    hasSecret: bool
    secret: str


class Delivery(TypedDict, total=False):
    deliveryId: str
    webhookId: str
    eventId: str
    event: str
    status: str
    attemptCount: int
    createdAt: str
    lastAttemptAt: str | None
    nextAttemptAt: str | None
    lastStatus: int | None
    lastError: str | None
    test: bool
    attempts: list[dict[str, Any]]
    payload: str | None


class ApiLog(TypedDict):
    _id: str
    userId: str
    endpoint: str
    method: str
    status: int
    timestamp: str
    responseTime: int


def _path(*parts: str) -> str:
    return "/".join(quote(part, safe="") for part in parts)


def _query(**values: Any) -> str:
    given = {name: value for name, value in values.items() if value is not None}
    return f"?{urlencode(given)}" if given else ""


class Client:
    """The Events API for a developer: `Client()` finds the API and key as the CLI does
    (arguments, else EVENTS_API_URL / EVENTS_API_KEY, else the local stack's URL)."""

    def __init__(
        self,
        api_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 2,
        max_retry_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_url = settings.api_url(api_url)
        self.api_key = settings.api_key(api_key)
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep

    # -- transport --------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None, *, timeout: float | None = None) -> Any:
        """One call; its JSON answer (None for 204). A 429 is retried after Retry-After, at most
        `max_retries` times and never waiting longer than `max_retry_wait` seconds at once."""
        for attempt in range(self.max_retries + 1):
            try:
                return self._once(method, path, body, timeout or self.timeout)
            except Throttled as throttled:
                wait = throttled.retry_after
                if attempt >= self.max_retries or wait is None or wait > self.max_retry_wait:
                    raise
                self._sleep(max(wait, 0.0))
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _once(self, method: str, path: str, body: Any, timeout: float) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"X-API-Key": self.api_key, "Accept": "application/json", "User-Agent": USER_AGENT}
        if data is not None:
            headers["Content-Type"] = "application/json"
        # settings.api_url admits http(s) URLs only
        request = urllib.request.Request(self.api_url + path, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - see above
                raw = answer.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as failed:
            raw = failed.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            retry_after = failed.headers.get("Retry-After")
            try:
                seconds = float(retry_after) if retry_after is not None else None
            except ValueError:
                seconds = None
            raise error_for(failed.code, parsed, seconds) from None
        except (urllib.error.URLError, OSError) as failed:
            reason = getattr(failed, "reason", failed)
            raise NoAnswer(self.api_url, str(reason)) from None

    def _pages(self, path: str, key: str, **query: Any) -> Iterator[Any]:
        cursor = query.pop("cursor", None)
        while True:
            page = self.request("GET", path + _query(**query, cursor=cursor))
            yield from page[key]
            cursor = page.get("nextCursor")
            if not cursor:
                return

    # -- webhooks ---------------------------------------------------------------------------

    @operation("listWebhooks")
    def list_webhooks(self) -> list[Webhook]:
        return cast(list[Webhook], self.request("GET", "/v1/events/webhooks")["webhooks"])

    @operation("createWebhook")
    def create_webhook(
        self, event: str, url: str, *, secret: str | None = None, filter: dict[str, Any] | None = None, **more: Any
    ) -> Webhook:
        """`event`: one type, `"<namespace>.*"` (every type of a namespace) or `"*"` (every type).
        More fields (description, rateLimit, headers, auth, asymmetricSignature…) as keywords."""
        body: dict[str, Any] = {"event": event, "url": url, **more}
        if secret is not None:
            body["secret"] = secret
        if filter is not None:
            body["filter"] = filter
        return cast(Webhook, self.request("POST", "/v1/events/webhooks", body))

    @operation("getWebhook")
    def get_webhook(self, webhook_id: str) -> Webhook:
        return cast(Webhook, self.request("GET", f"/v1/events/webhooks/{_path(webhook_id)}"))

    @operation("updateWebhook")
    def update_webhook(self, webhook_id: str, **changes: Any) -> Webhook:
        """Any of url, event, filter, enabled, description… as keywords."""
        return cast(Webhook, self.request("PATCH", f"/v1/events/webhooks/{_path(webhook_id)}", changes))

    def can_write(self) -> bool:
        """Whether the key has the write scope, asked without changing anything: an empty change
        of a webhook no one has is refused for the scope (403) before it is looked up (404)."""
        try:
            self.update_webhook("scope-probe")
        except Forbidden:
            return False
        except (NotFound, BadRequest):
            return True
        return True

    def pause_webhook(self, webhook_id: str) -> Webhook:
        return self.update_webhook(webhook_id, enabled=False)

    def enable_webhook(self, webhook_id: str) -> Webhook:
        return self.update_webhook(webhook_id, enabled=True)

    @operation("deleteWebhook")
    def delete_webhook(self, webhook_id: str) -> None:
        self.request("DELETE", f"/v1/events/webhooks/{_path(webhook_id)}")

    @operation("testWebhook")
    def test_webhook(self, webhook_id: str, *, event: str | None = None, data: Any = None) -> dict[str, Any]:
        """One signed test POST now: {deliveryId, delivered, status, latencyMs, error}. `event`: the
        type to send (a wildcard webhook's default is its pattern's first type)."""
        body = {name: value for name, value in (("event", event), ("data", data)) if value is not None}
        return cast(dict[str, Any], self.request("POST", f"/v1/events/webhooks/{_path(webhook_id)}/test", body))

    @operation("rotateSecret")
    def rotate_secret(
        self, webhook_id: str, *, secret: str | None = None, overlap_seconds: int | None = None
    ) -> Webhook:
        """The answer holds `secret` only when the service generated it: the one time it is shown."""
        body: dict[str, Any] = {}
        if secret is not None:
            body["secret"] = secret
        if overlap_seconds is not None:
            body["overlapSeconds"] = overlap_seconds
        return cast(Webhook, self.request("POST", f"/v1/events/webhooks/{_path(webhook_id)}/secret/rotate", body))

    @operation("verifyWebhook")
    def verify_webhook(self, webhook_id: str) -> dict[str, Any]:
        """Send the ownership challenge now: {verified, latencyMs, error?}."""
        return cast(dict[str, Any], self.request("POST", f"/v1/events/webhooks/{_path(webhook_id)}/verify"))

    # -- health figures ---------------------------------------------------------------------

    @operation("getWebhookStats")
    def webhook_stats(
        self, webhook_id: str, *, since: str | None = None, until: str | None = None, granularity: str | None = None
    ) -> dict[str, Any]:
        """The webhook's counts per status and latency percentiles per bucket (default: the last
        24 hours by hour): {webhookId, since, until, granularity, totals, buckets}."""
        path = f"/v1/events/webhooks/{_path(webhook_id)}/stats"
        return cast(
            dict[str, Any], self.request("GET", path + _query(since=since, until=until, granularity=granularity))
        )

    @operation("getStatsOverview")
    def stats(
        self,
        *,
        since: str | None = None,
        until: str | None = None,
        granularity: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every webhook's figures over one window (default the last 24 hours), page after page."""
        return self._pages(
            "/v1/events/stats", "webhooks", since=since, until=until, granularity=granularity, limit=page_size
        )

    # -- deliveries -------------------------------------------------------------------------

    @operation("listDeliveries")
    def deliveries(
        self, webhook_id: str, *, status: str | None = None, since: str | None = None, page_size: int | None = None
    ) -> Iterator[Delivery]:
        """Every delivery of the webhook, newest first, page after page."""
        path = f"/v1/events/webhooks/{_path(webhook_id)}/deliveries"
        return self._pages(path, "deliveries", status=status, since=since, limit=page_size)

    @operation("getDelivery")
    def get_delivery(self, webhook_id: str, delivery_id: str) -> Delivery:
        """The delivery with its attempts (oldest first) and the exact payload sent."""
        path = f"/v1/events/webhooks/{_path(webhook_id)}/deliveries/{_path(delivery_id)}"
        return cast(Delivery, self.request("GET", path))

    @operation("redeliver")
    def redeliver(self, webhook_id: str, delivery_id: str) -> dict[str, Any]:
        path = f"/v1/events/webhooks/{_path(webhook_id)}/deliveries/{_path(delivery_id)}/redeliver"
        return cast(dict[str, Any], self.request("POST", path))

    @operation("expungeDeliveryPayload")
    def expunge_delivery_payload(self, webhook_id: str, delivery_id: str) -> None:
        """Remove one settled delivery's payload and receivers' answers; the record stays."""
        self.request("DELETE", f"/v1/events/webhooks/{_path(webhook_id)}/deliveries/{_path(delivery_id)}/payload")

    @operation("startExpunge")
    def start_expunge(self, since: str, *, until: str | None = None, webhook_id: str | None = None) -> dict[str, Any]:
        """Queue an expunge of every settled delivery in the window; answers {"jobId"}."""
        body = {
            "since": since,
            **({"until": until} if until else {}),
            **({"webhookId": webhook_id} if webhook_id else {}),
        }
        return cast(dict[str, Any], self.request("POST", "/v1/events/expunge", body))

    @operation("getExpunge")
    def get_expunge(self, job_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], self.request("GET", f"/v1/events/expunge/{_path(job_id)}"))

    @operation("getSettings")
    def settings(self) -> dict[str, Any]:
        """The whole settings document, every field present with its default."""
        return cast(dict[str, Any], self.request("GET", "/v1/events/settings"))

    @operation("updateSettings")
    def update_settings(self, patch: dict[str, Any]) -> dict[str, Any]:
        """A JSON merge patch (RFC 7396); answers the whole document."""
        return cast(dict[str, Any], self.request("PATCH", "/v1/events/settings", patch))

    @operation("recover")
    def recover(self, webhook_id: str, since: str, *, until: str | None = None) -> dict[str, Any]:
        """Queue again every dead delivery since `since`, following `nextCursor` to the window's end:
        {queued, notQueued, window}."""
        path = f"/v1/events/webhooks/{_path(webhook_id)}/recover"
        totals: dict[str, Any] = {"queued": 0, "notQueued": 0, "window": None}
        cursor = None
        while True:
            body: dict[str, Any] = {"since": since}
            if until is not None:
                body["until"] = until
            if cursor:
                body["cursor"] = cursor
            answer = self.request("POST", path, body)
            totals["queued"] += answer.get("queued", 0)
            totals["notQueued"] += answer.get("notQueued", 0)
            totals["window"] = answer.get("window")
            cursor = answer.get("nextCursor")
            if not cursor:
                return totals

    @operation("listOrderingKeys")
    def ordering_keys(self, webhook_id: str) -> dict[str, Any]:
        """An ordered webhook's blocked keys, each with its head delivery: {blocked, more}."""
        return cast(dict[str, Any], self.request("GET", f"/v1/events/webhooks/{_path(webhook_id)}/ordering"))

    @operation("skipOrderingKey")
    def skip_ordering_key(self, webhook_id: str, key: str) -> dict[str, Any]:
        """Release a blocked key (its JSON text, e.g. '"wf-1"'): {key, skippedDeliveryId}."""
        path = f"/v1/events/webhooks/{_path(webhook_id)}/ordering/{_path(key)}/skip"
        return cast(dict[str, Any], self.request("POST", path, {}))

    # -- event types, signing keys, logs ----------------------------------------------------

    @operation("listEventTypes")
    def event_types(self) -> list[str]:
        return cast(list[str], self.request("GET", "/v1/events/types")["eventTypes"])

    @operation("getEventType")
    def event_type(self, name: str) -> dict[str, Any]:
        """The type's description, version, JSON Schema of its data and an example."""
        return cast(dict[str, Any], self.request("GET", f"/v1/events/types/{_path(name)}"))

    @operation("validateEventData")
    def validate_event_data(self, name: str, data: Any) -> dict[str, Any]:
        """{valid, errors: [{path, message}]}; changes nothing."""
        return cast(dict[str, Any], self.request("POST", f"/v1/events/types/{_path(name)}/validate", {"data": data}))

    @operation("listSigningKeys")
    def signing_keys(self) -> list[dict[str, Any]]:
        """The public keys that verify v1a signatures: pass them to `verify`."""
        return cast(list[dict[str, Any]], self.request("GET", "/v1/events/signing-keys")["keys"])

    @operation("listLogs")
    def logs(
        self,
        *,
        since: str | None = None,
        until: str | None = None,
        status: str | None = None,
        method: str | None = None,
        endpoint: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[ApiLog]:
        """Your API-call logs, newest first, page after page (filters as the API's)."""
        query = {"since": since, "until": until, "status": status, "method": method, "endpoint": endpoint}
        return self._pages("/v1/events/logs", "logs", **query, limit=page_size)

    # -- listen sessions (what `eventsapi listen` drives) -----------------------------------

    @operation("openListenSession")
    def open_listen_session(
        self, events: list[str] | None = None, filter: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if events:
            body["events"] = events
        if filter is not None:
            body["filter"] = filter
        return cast(dict[str, Any], self.request("POST", "/v1/events/listen", body))

    @operation("listListenSessions")
    def listen_sessions(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self.request("GET", "/v1/events/listen")["sessions"])

    @operation("triggerListen")
    def trigger(self, event: str, *, data: Any = None) -> dict[str, Any]:
        """A test event into every live listen session taking its type."""
        body: dict[str, Any] = {"event": event}
        if data is not None:
            body["data"] = data
        return cast(dict[str, Any], self.request("POST", "/v1/events/listen/trigger", body))

    @operation("endListenSession")
    def end_listen_session(self, session_id: str) -> None:
        self.request("DELETE", f"/v1/events/listen/{_path(session_id)}")

    @operation("nextListenDeliveries")
    def next_listen_deliveries(self, session_id: str, *, wait: int = 20, limit: int = 10) -> list[dict[str, Any]]:
        answer = self.request(
            "GET", f"/v1/events/listen/{_path(session_id)}/next" + _query(wait=wait, limit=limit), timeout=wait + 10
        )
        return [] if answer is None else cast(list[dict[str, Any]], answer["deliveries"])

    @operation("listListenDeliveries")
    def listen_history(self, session_id: str) -> list[dict[str, Any]]:
        """The session's kept deliveries (its last 100, for a day), newest first."""
        answer = self.request("GET", f"/v1/events/listen/{_path(session_id)}/deliveries")
        return cast(list[dict[str, Any]], answer["deliveries"])

    @operation("replayListenDelivery")
    def replay_listen_delivery(self, session_id: str, delivery_id: str) -> dict[str, Any]:
        """One of the session's kept deliveries, waiting in it again as a new delivery."""
        path = f"/v1/events/listen/{_path(session_id)}/deliveries/{_path(delivery_id)}/replay"
        return cast(dict[str, Any], self.request("POST", path))

    @operation("reportListenResult")
    def report_listen_result(
        self,
        session_id: str,
        delivery_id: str,
        *,
        status: int | None,
        latency_ms: int,
        body: str = "",
        error: str | None = None,
    ) -> None:
        """What the local receiver answered (`status`), or why there was no answer (`error`)."""
        path = f"/v1/events/listen/{_path(session_id)}/deliveries/{_path(delivery_id)}/result"
        result: dict[str, Any] = {"status": status, "latencyMs": latency_ms, "body": body}
        if error is not None:
            result["error"] = error
        self.request("POST", path, result)
