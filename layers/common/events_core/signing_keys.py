"""Ed25519 keys for asymmetric signatures (Standard Webhooks `v1a`), one set per developer.

A developer's receivers verify with the public keys `GET /v1/events/signing-keys` answers *them*,
holding no secret. A post for a developer is signed with that developer's live keys only, so a
post captured by one developer never verifies at another's receiver (security review M2: the
signed bytes name no tenant, the key does).

Stored once, in the webhooks table under the developer's own partition: developerId = the
developer, webhookId = `~signing-key#<kid>` (after the webhook counter `~count`, so never listed
as a webhook), the private key sealed (events_core.secrets; context developer, that webhookId,
purpose signing-key). Off-boarding a developer's partition removes them with it.

The stack-wide key of before (partition `~signing-keys`, which no API key can carry) is kept only
as an overlap: while it is live (no `expiresAt`, or one still ahead) every v1a post also carries
its signature, so a receiver that pinned it keeps verifying; `eventsapi signing-keys rotate --all`
gives it its `expiresAt` (now + the overlap) and it signs nothing after. Standard Webhooks allows
several space-separated signatures; a receiver accepts a post when any of them verifies.

A developer's rotation (`eventsapi signing-keys rotate --developer D`) adds a key and gives the
older ones an expiry; until then posts carry a signature by each live key of theirs. Private keys
are opened once per function instance for CACHE_SECONDS. `cryptography` is imported only when a
key is generated or used.
"""

import base64
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

from boto3.dynamodb.conditions import Key

from events_core import aws
from events_core.aws import LazyTable
from events_core.clock import iso_ms, new_id, now_ms
from events_core.config import Settings
from events_core.secrets import SecretBox

STACK_PARTITION = "~signing-keys"  # the stack-wide key of before: co-signs until its expiresAt
KEY_PREFIX = "~signing-key#"  # a developer's key: webhookId in the developer's own partition
ALGORITHM = "Ed25519"
CACHE_SECONDS = 300.0
MAX_CACHED_DEVELOPERS = 1024
DEFAULT_OVERLAP_SECONDS = 7 * 86400


@dataclass(frozen=True)
class SigningKey:
    kid: str
    public_key: str  # base64 of the 32 raw bytes
    sealed_private_key: str
    created_at_ms: int
    expires_at_ms: int | None = None
    developer_id: str | None = None  # None: the stack-wide key of before

    def public(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "alg": ALGORITHM,
            "publicKey": self.public_key,
            "createdAt": iso_ms(self.created_at_ms),
            "expiresAt": iso_ms(self.expires_at_ms) if self.expires_at_ms is not None else None,
        }

    @property
    def partition(self) -> str:
        return self.developer_id if self.developer_id is not None else STACK_PARTITION

    @property
    def sort_key(self) -> str:
        return self.kid if self.developer_id is None else KEY_PREFIX + self.kid

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "developerId": self.partition,
            "webhookId": self.sort_key,
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
        partition, sort_key = str(item["developerId"]), str(item["webhookId"])
        stack = partition == STACK_PARTITION
        return cls(
            kid=sort_key if stack else sort_key.removeprefix(KEY_PREFIX),
            public_key=item["publicKey"],
            sealed_private_key=item["privateKeyEnc"],
            created_at_ms=int(item["createdAt"]),
            expires_at_ms=None if expires is None else int(expires),
            developer_id=None if stack else partition,
        )

    def live(self, at_ms: int) -> bool:
        return self.expires_at_ms is None or self.expires_at_ms > at_ms

    def seal_context(self) -> tuple[str, str]:
        return self.partition, self.sort_key


class SigningKeyStore:
    table = LazyTable("webhooks_table")

    def __init__(self, table: Any = None):
        if table is not None:
            self.table = table

    def _query(self, partition: str, prefix: str | None) -> list[SigningKey]:
        condition = Key("developerId").eq(partition)
        if prefix:
            condition = condition & Key("webhookId").begins_with(prefix)
        answer = self.table.query(KeyConditionExpression=condition, ConsistentRead=True)
        found = [SigningKey.from_item(item) for item in answer.get("Items", [])]
        return sorted(found, key=lambda key: (key.created_at_ms, key.kid), reverse=True)

    def keys_of(self, developer_id: str) -> list[SigningKey]:
        """The developer's keys, newest first (a handful: one per rotation kept)."""
        return self._query(developer_id, KEY_PREFIX)

    def stack_keys(self) -> list[SigningKey]:
        """The stack-wide keys of before, newest first (none on a stack that never had them)."""
        return self._query(STACK_PARTITION, None)

    def put(self, key: SigningKey) -> None:
        self.table.put_item(Item=key.to_item())


def generate(box: SecretBox, at_ms: int, developer_id: str | None) -> SigningKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    raw_public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    unsealed = SigningKey(f"whk_{new_id(at_ms)}", base64.b64encode(raw_public).decode(), "", at_ms, None, developer_id)
    sealed = box.seal(base64.b64encode(raw_private).decode(), *unsealed.seal_context(), purpose="signing-key")
    return replace(unsealed, sealed_private_key=sealed)


def rotate(
    box: SecretBox, store: SigningKeyStore, developer_id: str, overlap_seconds: int = DEFAULT_OVERLAP_SECONDS
) -> SigningKey:
    """A new key for the developer; their keys still live keep signing and verifying for
    `overlap_seconds`, then expire."""
    at = now_ms()
    new = generate(box, at, developer_id)
    store.put(new)
    for key in store.keys_of(developer_id):
        if key.kid != new.kid and key.live(at):
            store.put(replace(key, expires_at_ms=at + overlap_seconds * 1000))
    return new


def retire_stack_keys(store: SigningKeyStore, overlap_seconds: int) -> list[SigningKey]:
    """Give the stack-wide keys still live without an expiry one: now + the overlap. They co-sign
    until then (receivers that pinned them move to their own keys meanwhile)."""
    at = now_ms()
    retired = []
    for key in store.stack_keys():
        if key.expires_at_ms is None:
            retired.append(replace(key, expires_at_ms=at + overlap_seconds * 1000))
            store.put(retired[-1])
    return retired


def ensure_key(box: SecretBox, store: SigningKeyStore, developer_id: str) -> None:
    """The developer's first key, when a webhook of theirs asks for v1a (two racing creations
    leave two keys, both published and signing: harmless)."""
    if not any(key.live(now_ms()) for key in store.keys_of(developer_id)):
        store.put(generate(box, now_ms(), developer_id))


def published(store: SigningKeyStore, developer_id: str) -> list[dict[str, Any]]:
    """The keys the developer's receivers may meet: their own live ones, newest first. Never the
    stack-wide key nor anyone else's: a verifier holding these rejects posts made for others."""
    at = now_ms()
    return [key.public() for key in store.keys_of(developer_id) if key.live(at)]


def with_v1a(
    headers: dict[str, str], signer: "Signer", developer_id: str, delivery_id: str, body: bytes
) -> dict[str, str]:
    """The post's headers with the developer's `v1a` signatures added to webhook-signature (beside
    the `v1` ones when the webhook has a secret; X-Webhook-Signature is left as it is)."""
    timestamp = headers.get("webhook-timestamp") or str(int(time.time()))
    signatures = " ".join(signer.sign(developer_id, delivery_id, timestamp, body))
    existing = headers.get("webhook-signature")
    return {
        **headers,
        "webhook-id": delivery_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": f"{existing} {signatures}" if existing else signatures,
    }


@aws.per_environment
def signer(config: Settings) -> "Signer":
    from events_core.secrets import secret_box

    return Signer(secret_box(config), SigningKeyStore())


class Signer:
    """Signs a developer's post with each of their live keys, then the stack-wide key while it is
    live; the opened keys are kept CACHE_SECONDS (a bounded number of developers)."""

    def __init__(self, box: SecretBox, store: SigningKeyStore):
        self.box = box
        self.store = store
        self._lock = threading.Lock()
        self._loaded: OrderedDict[str, tuple[float, list[tuple[SigningKey, Any]]]] = OrderedDict()

    def _open(self, key: SigningKey) -> Any:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        raw = self.box.open(key.sealed_private_key, *key.seal_context(), purpose="signing-key")
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(raw))

    def _keys(self, partition: str, load: Any) -> list[tuple[SigningKey, Any]]:
        with self._lock:
            loaded = self._loaded.get(partition)
            if loaded and loaded[0] > time.monotonic():
                self._loaded.move_to_end(partition)
                return loaded[1]
        opened = [(key, self._open(key)) for key in load()]
        if not opened:
            return opened  # none yet: a key made a moment from now signs at once, not CACHE_SECONDS later
        with self._lock:
            self._loaded[partition] = (time.monotonic() + CACHE_SECONDS, opened)
            self._loaded.move_to_end(partition)
            while len(self._loaded) > MAX_CACHED_DEVELOPERS:
                self._loaded.popitem(last=False)
        return opened

    def _live(self, developer_id: str, at: int) -> list[tuple[SigningKey, Any]]:
        own = self._keys(developer_id, lambda: [k for k in self.store.keys_of(developer_id) if k.live(at)])
        stack = self._keys(STACK_PARTITION, lambda: [k for k in self.store.stack_keys() if k.live(at)][:1])
        return [(key, private) for key, private in [*own, *stack] if key.live(at)]

    def sign(self, developer_id: str, delivery_id: str, timestamp: str, body: bytes) -> list[str]:
        """`v1a,<base64 Ed25519 signature of "id.timestamp.body">`, one per live key."""
        keys = self._live(developer_id, now_ms())
        if not keys:
            raise LookupError(
                f"no signing key for developer {developer_id}: an operator runs `eventsapi signing-keys rotate --all`"
            )
        signed = f"{delivery_id}.{timestamp}.".encode() + body
        return ["v1a," + base64.b64encode(private.sign(signed)).decode() for _, private in keys]
