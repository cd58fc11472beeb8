"""A webhook subscription as stored and as answered."""

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from events_core.clock import iso_ms, now_ms
from events_core.ordering.config import Ordering
from events_core.webhooks.filters import from_stored


class DisabledReason(StrEnum):
    MANUAL = "manual"  # paused by its developer (PATCH enabled: false)
    GONE = "gone"  # the receiver answered 410 Gone
    FAILURES = "failures"  # too many consecutive failed attempts
    CIRCUIT = "circuit"  # its circuit stayed open longer than CircuitMaxOpenSeconds
    UNVERIFIED = "unverified"  # EndpointVerification=required: the URL has not answered its challenge


class CircuitState(StrEnum):
    CLOSED = "closed"  # posts flow (stored as no circuitState at all)
    OPEN = "open"  # failing: deliveries are held, one probe is queued for nextProbeAt
    HALF_OPEN = "half-open"  # the probe is being posted


@dataclass
class Webhook:
    developer_id: str
    webhook_id: str
    event: str
    url: str
    created_at: str
    updated_at: str
    # Stored as JSON text: keeps numbers exact and empty strings legal in DynamoDB.
    filter_json: str = "{}"
    description: str = ""
    enabled: bool = True
    disabled_reason: DisabledReason | None = None
    disabled_at_ms: int | None = None
    last_triggered: str | None = None
    fail_count: int = 0
    # KMS ciphertexts (events_core.secrets); the clear secret never lives on this object.
    sealed_secret: str | None = None
    sealed_previous_secret: str | None = None
    previous_secret_until_ms: int | None = None
    alert_pending: bool = False
    # Receiver controls (issue 21); absent on webhooks stored before them: no limit, closed, none.
    rate_limit: dict[str, int] | None = None  # {"count", "periodSeconds"}
    rate_tat_ms: int | None = None  # the rate limit's theoretical arrival time (written by delivery)
    sealed_headers: str | None = None  # custom headers, one sealed JSON object
    header_names: list[str] = field(default_factory=list)
    circuit_state: CircuitState = CircuitState.CLOSED
    circuit_since_ms: int | None = None
    next_probe_at_ms: int | None = None
    held_pending: bool = False  # held deliveries wait to be released (closed) or killed (disabled)
    auth: dict[str, str] | None = None  # OAuth2 client credentials, without the secret
    sealed_client_secret: str | None = None
    asymmetric_signature: bool = False  # also sign with the service's Ed25519 key (v1a)
    # Ownership verification (webhooks.verification): None when it never applied to this webhook.
    verification_status: str | None = None  # pending | verified | failed
    verified_at: str | None = None
    verify_token_hash: str | None = None  # the manual link's nonce, hashed; single use
    verify_token_until_ms: int | None = None
    # The origin (scheme://host:port) a challenge or link last proved; None before any did, or
    # for webhooks verified before it was stored (their URL's origin is the proven one then).
    verified_origin: str | None = None
    # Ordered delivery per key (events_core.ordering); None: unordered, as every webhook before it.
    ordering: Ordering | None = None

    @cached_property
    def filter(self) -> dict[str, Any]:
        return from_stored(self.filter_json)

    @property
    def has_secret(self) -> bool:
        return self.sealed_secret is not None

    def public(self) -> dict[str, Any]:
        """The answer's shape: `id` (create) and `_id` (list) both, and never the secret."""
        return {
            "id": self.webhook_id,
            "_id": self.webhook_id,
            "developerId": self.developer_id,
            "event": self.event,
            "url": self.url,
            "filter": self.filter,
            "enabled": self.enabled,
            "createdAt": self.created_at,
            "lastTriggered": self.last_triggered,
            "failCount": self.fail_count,
            "description": self.description,
            "updatedAt": self.updated_at,
            "disabledReason": self.disabled_reason.value if self.disabled_reason else None,
            "hasSecret": self.has_secret,
            **self._verification(),
            "rateLimit": dict(self.rate_limit) if self.rate_limit else None,
            "headerNames": list(self.header_names),
            "circuit": self.circuit_public(),
            "throttle": {"lagSeconds": self.throttle_lag_seconds(now_ms())},
            "auth": {**self.auth, "hasClientSecret": self.sealed_client_secret is not None} if self.auth else None,
            "asymmetricSignature": self.asymmetric_signature,
            "ordering": self.ordering.public() if self.ordering else None,
        }

    @property
    def interval_ms(self) -> int | None:
        """Milliseconds between two posts under the rate limit; None when unlimited."""
        if not self.rate_limit:
            return None
        return max(1, self.rate_limit["periodSeconds"] * 1000 // self.rate_limit["count"])

    def throttle_lag_seconds(self, at_ms: int) -> float:
        """How far ahead the rate limit's next free slot is: how long a new post would wait."""
        if not self.rate_limit or self.rate_tat_ms is None:
            return 0.0
        return round(max(0, self.rate_tat_ms - at_ms) / 1000, 3)

    def circuit_public(self) -> dict[str, Any]:
        return {
            "state": self.circuit_state.value,
            "since": iso_ms(self.circuit_since_ms) if self.circuit_since_ms is not None else None,
            "nextProbeAt": iso_ms(self.next_probe_at_ms) if self.next_probe_at_ms is not None else None,
        }

    def _verification(self) -> dict[str, Any]:
        if self.verification_status is None:  # EndpointVerification off: the reference's shape exactly
            return {}
        return {"verification": {"status": self.verification_status, "verifiedAt": self.verified_at}}

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "developerId": self.developer_id,
            "webhookId": self.webhook_id,
            "event": self.event,
            "url": self.url,
            "filterJson": self.filter_json,
            "description": self.description,
            "enabled": self.enabled,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "failCount": self.fail_count,
        }
        optional = {
            "lastTriggered": self.last_triggered,
            "disabledReason": self.disabled_reason.value if self.disabled_reason else None,
            "disabledAt": self.disabled_at_ms,
            "secretEnc": self.sealed_secret,
            "previousSecretEnc": self.sealed_previous_secret,
            "previousSecretUntil": self.previous_secret_until_ms,
            "alertPending": True if self.alert_pending else None,
            "verificationStatus": self.verification_status,
            "verifiedAt": self.verified_at,
            "verifyTokenHash": self.verify_token_hash,
            "verifyTokenUntil": self.verify_token_until_ms,
            "verifiedOrigin": self.verified_origin,
            "activeKey": active_key(self.developer_id, self.event) if self.enabled else None,
            "rateLimit": dict(self.rate_limit) if self.rate_limit else None,
            "rateTat": self.rate_tat_ms,
            "headersEnc": self.sealed_headers,
            "headerNames": list(self.header_names) or None,
            "circuitState": None if self.circuit_state == CircuitState.CLOSED else self.circuit_state.value,
            "circuitSince": self.circuit_since_ms,
            "nextProbeAt": self.next_probe_at_ms,
            "heldPending": True if self.held_pending else None,
            "auth": dict(self.auth) if self.auth else None,
            "authSecretEnc": self.sealed_client_secret,
            "asymmetricSignature": True if self.asymmetric_signature else None,
            "ordering": self.ordering.to_item() if self.ordering else None,
        }
        item.update({name: value for name, value in optional.items() if value is not None})
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> "Webhook":
        reason = item.get("disabledReason")
        return cls(
            developer_id=item["developerId"],
            webhook_id=item["webhookId"],
            event=item["event"],
            url=item["url"],
            created_at=item["createdAt"],
            updated_at=item.get("updatedAt") or item["createdAt"],
            filter_json=item.get("filterJson") or "{}",
            description=item.get("description", ""),
            enabled=bool(item.get("enabled", True)),
            disabled_reason=DisabledReason(reason) if reason else None,
            disabled_at_ms=_int_or_none(item.get("disabledAt")),
            last_triggered=item.get("lastTriggered"),
            fail_count=int(item.get("failCount", 0)),
            sealed_secret=item.get("secretEnc"),
            sealed_previous_secret=item.get("previousSecretEnc"),
            previous_secret_until_ms=_int_or_none(item.get("previousSecretUntil")),
            alert_pending=bool(item.get("alertPending", False)),
            rate_limit=_rate_limit(item.get("rateLimit")),
            rate_tat_ms=_int_or_none(item.get("rateTat")),
            sealed_headers=item.get("headersEnc"),
            header_names=[str(name) for name in item.get("headerNames") or []],
            circuit_state=CircuitState(item.get("circuitState") or CircuitState.CLOSED),
            circuit_since_ms=_int_or_none(item.get("circuitSince")),
            next_probe_at_ms=_int_or_none(item.get("nextProbeAt")),
            held_pending=bool(item.get("heldPending", False)),
            auth={str(k): str(v) for k, v in item["auth"].items()} if item.get("auth") else None,
            sealed_client_secret=item.get("authSecretEnc"),
            asymmetric_signature=bool(item.get("asymmetricSignature", False)),
            verification_status=item.get("verificationStatus"),
            verified_at=item.get("verifiedAt"),
            verify_token_hash=item.get("verifyTokenHash"),
            verify_token_until_ms=_int_or_none(item.get("verifyTokenUntil")),
            verified_origin=item.get("verifiedOrigin"),
            ordering=Ordering.from_item(item.get("ordering")),
        )


def _rate_limit(value: Any) -> dict[str, int] | None:
    if not value:
        return None
    return {"count": int(value["count"]), "periodSeconds": int(value["periodSeconds"])}


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def active_key(developer_id: str, event: str) -> str:
    """Key of the sparse index holding only enabled webhooks: one Query per (developer, event)."""
    return f"{developer_id}#{event}"
