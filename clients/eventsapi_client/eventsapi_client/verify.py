"""The receiver's side: `verify(body, headers, secret_or_keys)` checks a delivery's signature.

- A secret (str or bytes; `whsec_…` base64 is accepted too) verifies the reference's header,
  `X-Webhook-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>` (or, during a rotation's overlap,
  `X-Webhook-Signature-Previous`), and Standard Webhooks `webhook-signature` `v1,` entries
  (HMAC-SHA256 over "id.timestamp.body", base64) whose `webhook-timestamp` is fresh.
- Public keys (`Client.signing_keys()`'s dicts: `{"publicKey": <base64 of 32 bytes>, …}`) verify `v1a,` entries
  (Ed25519 over "id.timestamp.body") whose timestamp is fresh.
- A list may mix them: several secrets during a rotation, or a secret and the keys.

`body` is the raw bytes received, before any JSON parsing: a re-serialised body does not verify.
"""

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping
from typing import Any

from eventsapi_client import ed25519

DEFAULT_TOLERANCE_SECONDS = 300
SecretOrKey = str | bytes | Mapping[str, Any]


def _secret_bytes(secret: str | bytes) -> bytes:
    if isinstance(secret, bytes):
        return secret
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            return secret.encode()
    return secret.encode()


def _public_key(key: Mapping[str, Any]) -> bytes | None:
    try:
        return base64.b64decode(str(key.get("publicKey", "")), validate=True)
    except (binascii.Error, ValueError):
        return None


def _entries(header: str, version: str) -> list[bytes]:
    found = []
    for entry in header.split():
        name, _, value = entry.partition(",")
        if name == version:
            try:
                found.append(base64.b64decode(value, validate=True))
            except (binascii.Error, ValueError):
                continue
    return found


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secret_or_keys: SecretOrKey | Iterable[SecretOrKey],
    *,
    tolerance: float | None = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when one of the delivery's signatures is made with one of the secrets or keys given.
    `tolerance`: how old (or how far ahead) a Standard Webhooks timestamp may be, in seconds; None: any."""
    raw = body.encode() if isinstance(body, str) else body
    lowered = {name.lower(): value for name, value in headers.items()}
    given: list[SecretOrKey] = (
        [secret_or_keys] if isinstance(secret_or_keys, str | bytes | Mapping) else list(secret_or_keys)
    )
    secrets = [_secret_bytes(item) for item in given if isinstance(item, str | bytes)]
    keys = [k for k in (_public_key(item) for item in given if isinstance(item, Mapping)) if k is not None]

    for secret in secrets:
        expected = "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()
        for name in ("x-webhook-signature", "x-webhook-signature-previous"):
            if hmac.compare_digest(expected, lowered.get(name, "")):
                return True

    message_id, stamp, signature = (lowered.get(n) for n in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (message_id and stamp and signature):
        return False
    try:
        sent = int(stamp)
    except ValueError:
        return False
    if tolerance is not None and abs((time.time() if now is None else now) - sent) > tolerance:
        return False
    signed = f"{message_id}.{stamp}.".encode() + raw
    for secret in secrets:
        expected_bytes = hmac.new(secret, signed, hashlib.sha256).digest()
        if any(hmac.compare_digest(expected_bytes, found) for found in _entries(signature, "v1")):
            return True
    return any(ed25519.verify(key, signed, found) for found in _entries(signature, "v1a") for key in keys)
