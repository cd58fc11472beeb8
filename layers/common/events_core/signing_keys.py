"""The service's Ed25519 keys for asymmetric signatures (Standard Webhooks `v1a`).

Receivers verify with a public key from `GET /v1/events/signing-keys`, holding no secret. The
newest key signs; a rotation (`eventsapi signing-keys rotate`) adds a key and gives the older ones
an expiry, so during the overlap a receiver holding either public key verifies. Each private key
is sealed with the stack's KMS key (context: purpose signing-key and its kid) and opened once per
function instance, then used in-process: no KMS call per post.

Stored in the webhooks table under one partition of their own (developerId "~signing-keys", which
no API key can carry: developer ids never start with "~"). `cryptography` is imported only when a
key is generated or used, so functions whose webhooks never ask for v1a never load it.
"""

import base64
import threading
import time
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Key

from events_core import aws
from events_core.aws import LazyTable
from events_core.clock import iso_ms, new_id, now_ms
from events_core.config import Settings
from events_core.secrets import SecretBox

PARTITION = "~signing-keys"
ALGORITHM = "Ed25519"
CACHE_SECONDS = 300.0
DEFAULT_OVERLAP_SECONDS = 7 * 86400


@dataclass(frozen=True)
class SigningKey:
    kid: str
    public_key: str  # base64 of the 32 raw bytes
    sealed_private_key: str
    created_at_ms: int
    expires_at_ms: int | None = None

    def public(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "alg": ALGORITHM,
            "publicKey": self.public_key,
            "createdAt": iso_ms(self.created_at_ms),
            "expiresAt": iso_ms(self.expires_at_ms) if self.expires_at_ms is not None else None,
        }

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "developerId": PARTITION,
            "webhookId": self.kid,
            "alg": ALGORITHM,
            "publicKey": self.public_key,
            "privateKeyEnc": self.sealed_private_key,
            "createdAt": self.created_at_ms,
        }
        if self.expires_at_ms is not None:
            item["expiresAt"] = self.expires_at_ms
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> "SigningKey":
        expires = item.get("expiresAt")
        return cls(
            kid=item["webhookId"],
            public_key=item["publicKey"],
            sealed_private_key=item["privateKeyEnc"],
            created_at_ms=int(item["createdAt"]),
            expires_at_ms=None if expires is None else int(expires),
        )

    def live(self, at_ms: int) -> bool:
        return self.expires_at_ms is None or self.expires_at_ms > at_ms


class SigningKeyStore:
    table = LazyTable("webhooks_table")

    def __init__(self, table: Any = None):
        if table is not None:
            self.table = table

    def all_keys(self) -> list[SigningKey]:
        """Every stored key, newest first (a handful: one per rotation kept)."""
        answer = self.table.query(KeyConditionExpression=Key("developerId").eq(PARTITION), ConsistentRead=True)
        found = [SigningKey.from_item(item) for item in answer.get("Items", [])]
        return sorted(found, key=lambda key: (key.created_at_ms, key.kid), reverse=True)

    def put(self, key: SigningKey) -> None:
        self.table.put_item(Item=key.to_item())


def _seal_context(kid: str) -> tuple[str, str]:
    return PARTITION, kid


def generate(box: SecretBox, at_ms: int) -> SigningKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    raw_public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    kid = f"whk_{new_id(at_ms)}"
    sealed = box.seal(base64.b64encode(raw_private).decode(), *_seal_context(kid), purpose="signing-key")
    return SigningKey(kid, base64.b64encode(raw_public).decode(), sealed, at_ms)


def rotate(box: SecretBox, store: SigningKeyStore, overlap_seconds: int = DEFAULT_OVERLAP_SECONDS) -> SigningKey:
    """A new signing key; the keys still live keep verifying for `overlap_seconds`, then expire."""
    at = now_ms()
    new = generate(box, at)
    store.put(new)
    for key in store.all_keys():
        if key.kid != new.kid and key.live(at):
            until = at + overlap_seconds * 1000
            store.put(SigningKey(key.kid, key.public_key, key.sealed_private_key, key.created_at_ms, until))
    return new


def ensure_key(box: SecretBox, store: SigningKeyStore) -> None:
    """The first key, when a webhook asks for v1a before any rotation made one (two racing
    creations leave two keys, both published and valid: harmless)."""
    if not any(key.live(now_ms()) for key in store.all_keys()):
        store.put(generate(box, now_ms()))


def published(store: SigningKeyStore) -> list[dict[str, Any]]:
    """The keys a receiver may meet: the live ones, newest first."""
    at = now_ms()
    return [key.public() for key in store.all_keys() if key.live(at)]


def with_v1a(headers: dict[str, str], signer: "Signer", delivery_id: str, body: bytes) -> dict[str, str]:
    """The post's headers with a `v1a` signature added to webhook-signature (beside the `v1` ones
    when the webhook has a secret; X-Webhook-Signature is left as it is)."""
    timestamp = headers.get("webhook-timestamp") or str(int(time.time()))
    signature = signer.sign(delivery_id, timestamp, body)
    existing = headers.get("webhook-signature")
    return {
        **headers,
        "webhook-id": delivery_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": f"{existing} {signature}" if existing else signature,
    }


@aws.per_environment
def signer(config: Settings) -> "Signer":
    from events_core.secrets import secret_box

    return Signer(secret_box(config), SigningKeyStore())


class Signer:
    """Signs with the newest live key, opened once and kept for CACHE_SECONDS."""

    def __init__(self, box: SecretBox, store: SigningKeyStore):
        self.box = box
        self.store = store
        self._lock = threading.Lock()
        self._loaded: tuple[float, Any] | None = None

    def _private_key(self) -> Any:
        with self._lock:
            if self._loaded and self._loaded[0] > time.monotonic():
                return self._loaded[1]
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        at = now_ms()
        key = next((key for key in self.store.all_keys() if key.live(at)), None)
        if key is None:
            raise LookupError("no signing key: an operator runs `eventsapi signing-keys rotate`")
        raw = self.box.open(key.sealed_private_key, *_seal_context(key.kid), purpose="signing-key")
        private = Ed25519PrivateKey.from_private_bytes(base64.b64decode(raw))
        with self._lock:
            self._loaded = (time.monotonic() + CACHE_SECONDS, private)
        return private

    def sign(self, delivery_id: str, timestamp: str, body: bytes) -> str:
        """`v1a,<base64 Ed25519 signature of "id.timestamp.body">`."""
        signature = self._private_key().sign(f"{delivery_id}.{timestamp}.".encode() + body)
        return "v1a," + base64.b64encode(signature).decode()
