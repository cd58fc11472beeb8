"""A delivery record as stored and as answered.

Versions (records live LogRetentionDays, so every version a deployed stack ever wrote is read):
- 1 (no `version` attribute): the payload inline (`payload`), or none (a lease taken, not yet saved).
- 2: `version: 2`; the payload inline, or `payloadRef` naming the event's stored payload
  (events_core.records.payloads) when it is large.
  Since tracing, a record may keep `traceparent`/`tracestate` (the context its attempts continue:
  answered as `traceId`) and each attempt its `spanId`; records written before have neither, and
  answer `traceId: null`.
  Since erasure, a record may carry `erased: true` (with `expunged: true`): an operator erased the
  subject its event concerned; records without it read as not erased.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from events_core.tracing import parse

RECORD_VERSION = 2
MAX_ATTEMPTS_KEPT = 20  # the newest; an item must stay well under DynamoDB's 400 KB


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for, or in, a first post, a redelivery or a recovery
    SUCCEEDED = "succeeded"  # the last attempt got a 2xx
    RETRYING = "retrying"  # the last attempt failed; another is scheduled (nextAttemptAt)
    DEAD = "dead"  # failed with no automatic attempt left; `recover` or `redeliver` sends it again
    THROTTLED = "throttled"  # waiting for its slot under the webhook's rate limit (not a failure)
    HELD = "held"  # its webhook's circuit is open: released when a probe succeeds (no attempt spent)
    FAILED = "failed"  # a test send that failed: history only, never retried or recovered (redeliver can)


@dataclass
class Attempt:
    attempt: int
    attempted_at: str
    status: int | None
    latency_ms: int
    error: str | None
    response_excerpt: str
    trigger: str
    span_id: str | None = None  # this attempt's span: the parent id in the post's traceparent

    def public(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "attemptedAt": self.attempted_at,
            "status": self.status,
            "latencyMs": self.latency_ms,
            "error": self.error,
            "responseExcerpt": self.response_excerpt,
            "trigger": self.trigger,
            "spanId": self.span_id,
        }

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "attempt": self.attempt,
            "attemptedAt": self.attempted_at,
            "latencyMs": self.latency_ms,
            "excerpt": self.response_excerpt,
            "trigger": self.trigger,
        }
        if self.status is not None:
            item["status"] = self.status
        if self.error:
            item["error"] = self.error
        if self.span_id:
            item["spanId"] = self.span_id
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> "Attempt":
        status = item.get("status")
        return cls(
            attempt=int(item["attempt"]),
            attempted_at=item["attemptedAt"],
            status=None if status is None else int(status),
            latency_ms=int(item.get("latencyMs", 0)),
            error=item.get("error"),
            response_excerpt=item.get("excerpt", ""),
            trigger=item.get("trigger", "first"),
            span_id=item.get("spanId"),
        )


@dataclass
class DeliveryRecord:
    developer_id: str
    webhook_id: str
    delivery_id: str
    event_id: str
    event: str
    status: DeliveryStatus
    created_at: str
    attempt: int = 0  # attempts started
    attempts: list[Attempt] = field(default_factory=list)
    last_attempt_at: str | None = None
    next_attempt_at: str | None = None
    last_status: int | None = None
    last_error: str | None = None
    payload: str | None = None
    test: bool = False
    lease_until_ms: int | None = None
    expires_at: int = 0
    payload_ref: str | None = None  # the stored payload's event id, when it is not inline
    version: int = RECORD_VERSION
    traceparent: str | None = None  # W3C: the trace every attempt of this delivery continues
    tracestate: str | None = None

    @property
    def trace_id(self) -> str | None:
        found = parse(self.traceparent, None)
        return found.trace_id if found else None

    expunged: bool = False  # the developer removed its payload and answers (the record stays)
    erased: bool = False  # an operator's erasure of a subject removed them (also expunged: never sent again)
    held_reason: str | None = None  # while held: "circuit" (the webhook's) or "ordering" (its key's head fails)

    def public(self, *, detail: bool = False) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "deliveryId": self.delivery_id,
            "webhookId": self.webhook_id,
            "eventId": self.event_id,
            "event": self.event,
            "status": self.status.value,
            # Attempts made: one whose lease is still held is in progress, not yet made.
            "attemptCount": self.attempt - 1 if self.lease_until_ms is not None else self.attempt,
            "createdAt": self.created_at,
            "lastAttemptAt": self.last_attempt_at,
            "nextAttemptAt": self.next_attempt_at,
            "lastStatus": self.last_status,
            "lastError": self.last_error,
            "test": self.test,
            "traceId": self.trace_id,
            "heldReason": (self.held_reason or HELD_BY_CIRCUIT) if self.status == DeliveryStatus.HELD else None,
        }
        if self.expunged:
            answer["expunged"] = True
        if self.erased:
            answer["erased"] = True
        if detail:
            answer["attempts"] = [attempt.public() for attempt in self.attempts]
            answer["payload"] = self.payload
        return answer

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "webhookKey": webhook_key(self.developer_id, self.webhook_id),
            "deliveryId": self.delivery_id,
            "developerId": self.developer_id,
            "webhookId": self.webhook_id,
            "eventId": self.event_id,
            "event": self.event,
            "status": self.status.value,
            "createdAt": self.created_at,
            "attempt": self.attempt,
            "attempts": [attempt.to_item() for attempt in self.attempts[-MAX_ATTEMPTS_KEPT:]],
            "expiresAt": self.expires_at,
            "version": RECORD_VERSION,
        }
        optional = {
            "lastAttemptAt": self.last_attempt_at,
            "nextAttemptAt": self.next_attempt_at,
            "lastStatus": self.last_status,
            "lastError": self.last_error,
            "payload": self.payload,
            "payloadRef": None if self.payload is not None else self.payload_ref,
            "test": True if self.test else None,
            "expunged": True if self.expunged else None,
            "erased": True if self.erased else None,
            "leaseUntil": self.lease_until_ms,
            "traceparent": self.traceparent,
            "tracestate": self.tracestate,
            "heldReason": self.held_reason if self.status == DeliveryStatus.HELD else None,
            # The sparse index of deliveries that need attention: present only while failing.
            "failedKey": item["webhookKey"] if self.status in INDEXED_STATUSES else None,
        }
        item.update({name: value for name, value in optional.items() if value is not None})
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> "DeliveryRecord":
        def number(name: str) -> int | None:
            value = item.get(name)
            return None if value is None else int(value)

        return cls(
            developer_id=item["developerId"],
            webhook_id=item["webhookId"],
            delivery_id=item["deliveryId"],
            event_id=item.get("eventId", ""),
            event=item.get("event", ""),
            status=_status(item),
            created_at=item.get("createdAt", ""),
            attempt=int(item.get("attempt", 0)),
            attempts=[Attempt.from_item(entry) for entry in item.get("attempts") or []],
            last_attempt_at=item.get("lastAttemptAt"),
            next_attempt_at=item.get("nextAttemptAt"),
            last_status=number("lastStatus"),
            last_error=item.get("lastError"),
            payload=item.get("payload"),
            test=bool(item.get("test", False)),
            lease_until_ms=number("leaseUntil"),
            expires_at=int(item.get("expiresAt", 0)),
            payload_ref=item.get("payloadRef"),
            version=int(item.get("version", 1)),
            traceparent=item.get("traceparent"),
            tracestate=item.get("tracestate"),
            expunged=bool(item.get("expunged", False)),
            erased=bool(item.get("erased", False)),
            held_reason=item.get("heldReason"),
        )


# Why a delivery is held: records held before heldReason existed were all held by the circuit.
HELD_BY_CIRCUIT = "circuit"
HELD_BY_ORDERING = "ordering"

# The statuses kept in the sparse index FailedByWebhook (held ones are released from it, oldest first).
INDEXED_STATUSES = (DeliveryStatus.RETRYING, DeliveryStatus.DEAD, DeliveryStatus.HELD)


def _status(item: dict[str, Any]) -> DeliveryStatus:
    status = DeliveryStatus(item.get("status", DeliveryStatus.PENDING))
    # Failed test sends were stored as `dead` before `failed` existed: read them as what they are.
    return DeliveryStatus.FAILED if status == DeliveryStatus.DEAD and item.get("test") else status


def webhook_key(developer_id: str, webhook_id: str) -> str:
    """The partition of one webhook's deliveries; the developer is part of it, so no read by a
    webhook id alone can reach another developer's deliveries."""
    return f"{developer_id}#{webhook_id}"
