"""Test sends (POST /v1/events/webhooks/{id}/test): one signed POST now, through the same signing,
outbound gate (events_core.delivery.gate) and deadline as delivery, recorded in the webhook's
history as a test. A test send works on a paused or disabled webhook and never changes
failCount, lastTriggered or enabled."""

import math
from typing import Any

from events_core import event_patterns, jsonsafe, tracing
from events_core.clock import iso_ms, now_ms
from events_core.config import Settings
from events_core.delivery.gate import OutboundContext, Post, Purpose, StepVerdict, VerdictKind, gate
from events_core.delivery.probe_history import ProbeHistory
from events_core.delivery.sender import PostResult
from events_core.delivery.signing import delivery_headers, with_asymmetric
from events_core.errors import BadRequest, EventsApiError, RateLimited, Unavailable
from events_core.observability import logger
from events_core.records.message import new_delivery_id
from events_core.records.model import Attempt, DeliveryRecord, DeliveryStatus
from events_core.records.store import DeliveryStore
from events_core.schemas import data_for_test_send
from events_core.secrets import secret_box
from events_core.webhooks.model import Webhook
from events_core.webhooks.requests import parse_test

TEST_HEADER = "X-Webhook-Test"


def send_test(webhook: Webhook, body: Any, config: Settings, *, seconds_left: float) -> dict[str, Any]:
    request = parse_test(body)
    event = test_event(webhook.event, request.event)
    data = data_for_test_send(event, request.data)  # the catalogue's example, or the caller's data once it validates
    at = now_ms()
    timestamp = iso_ms(at)
    delivery_id = new_delivery_id(at)
    payload = test_payload_text(event, timestamp, jsonsafe.dumps(data))
    box = secret_box(config)
    secrets = box.signing_secrets(webhook, at)
    body_bytes = payload.encode()
    # A test send belongs to no event: it starts a trace of its own.
    with tracing.span("webhook.test", None, attributes=_span_attributes(webhook, delivery_id)) as trace:
        headers = delivery_headers(
            event=event, timestamp=timestamp, delivery_id=delivery_id, body=body_bytes, secrets=secrets, trace=trace
        )
        headers[TEST_HEADER] = "true"
        headers = with_asymmetric(headers, webhook, config, delivery_id, body_bytes)
        context = OutboundContext(webhook, webhook.developer_id, Purpose.TEST, delivery_id, at)
        passage = gate(config).send(context, Post(body_bytes, headers, max(1.0, seconds_left)))
    verdict = passage.verdict
    if verdict is not None and verdict.kind != VerdictKind.REFUSE:
        raise _not_sent(verdict)
    result = passage.result or PostResult(error=verdict.reason if verdict else "not posted")
    attempt = Attempt(1, iso_ms(now_ms()), result.status, result.latency_ms, result.error, result.excerpt, "test")
    attempt.span_id = trace.span_id
    record = DeliveryRecord(
        developer_id=webhook.developer_id,
        webhook_id=webhook.webhook_id,
        delivery_id=delivery_id,
        event_id=f"test_{delivery_id[4:]}",
        event=event,
        status=DeliveryStatus.SUCCEEDED if result.ok else DeliveryStatus.FAILED,
        created_at=timestamp,
        attempt=1,
        attempts=[attempt],
        last_attempt_at=iso_ms(now_ms()),
        last_status=result.status,
        last_error=None if result.ok else result.describe(),
        payload=payload,
        test=True,
        expires_at=config.expires_at(at),
        traceparent=trace.traceparent,
        tracestate=trace.state,
    )
    try:
        DeliveryStore().put(record)
        ProbeHistory().keep(webhook.developer_id, webhook.webhook_id, delivery_id, expires_at=record.expires_at)
    except Exception:  # noqa: BLE001 - the post was made; its answer matters more than its history line
        logger.exception("test send not recorded", extra={"delivery_id": delivery_id})
    return {
        "deliveryId": delivery_id,
        "delivered": result.ok,
        "status": result.status,
        "latencyMs": result.latency_ms,
        "error": result.error if not result.ok and result.error else (None if result.ok else result.describe()),
        "traceId": trace.trace_id,
    }


def test_event(subscribed: str, asked: str | None) -> str:
    """The type a test send posts: the one asked for, else the webhook's own (for a pattern, its
    first catalogue type). A wildcard webhook only takes the types its pattern does."""
    if not event_patterns.is_pattern(subscribed):
        return asked or subscribed
    if asked is None:
        return event_patterns.first_type(subscribed)
    if not event_patterns.matches(subscribed, asked):
        raise BadRequest(
            f"event: {asked!r} is not one of this webhook's types ({subscribed!r}); one of "
            f"{', '.join(event_patterns.types_of(subscribed))}",
            field="event",
        )
    return asked


def _span_attributes(webhook: Webhook, delivery_id: str) -> dict[str, str]:
    return {
        "events_api.delivery_id": delivery_id,
        "events_api.webhook_id": webhook.webhook_id,
        "events_api.developer_id": webhook.developer_id,
    }


def test_payload_text(event_type: str, timestamp: str, data_json: str) -> str:
    """A test post's body: a delivery's, with a top-level "test": true that is signed with it.
    The caller's data sits under "data", so nothing it holds can remove or override the marker
    (review N3): a receiver acts only on posts without "test"."""
    head = f'{{"event":{jsonsafe.dumps(event_type)},"timestamp":{jsonsafe.dumps(timestamp)}'
    return f'{head},"test":true,"data":{data_json}}}'


def _not_sent(verdict: StepVerdict) -> EventsApiError:
    """A gate step held the test send back (deferred, or could not decide): nothing was posted or
    recorded. A spent budget or a throttled webhook is the step's own 429 with Retry-After; the
    answer never names the gate's internal steps (the log does)."""
    if verdict.error is not None:
        return verdict.error
    if verdict.kind == VerdictKind.DEFER:
        wait = max(1, math.ceil(verdict.wait_seconds(now_ms())))
        return RateLimited(f"not sent now: nothing was posted; retry in {wait} s", retry_after=wait)
    logger.warning("test send not sent", extra={"step": verdict.step, "reason": verdict.reason})
    return Unavailable("not sent: the service could not decide whether it may post now; nothing was posted, retry")
