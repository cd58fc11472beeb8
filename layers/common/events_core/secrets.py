"""Webhook secrets at rest: encrypted with the stack's KMS key, never stored in clear.

Each ciphertext is bound to its webhook by the encryption context (developer, webhook), so a
ciphertext copied onto another item does not decrypt. Decryption is cached for a short time in
the function: a KMS call per delivery would cost more than all of SQS.
"""

import base64
import json
import threading
import time
from typing import TYPE_CHECKING, Any

from events_core import aws
from events_core.config import Settings

if TYPE_CHECKING:
    from events_core.webhooks.model import Webhook

_MAX_CACHED = 2048


class SecretBox:
    def __init__(self, key_id: str, *, cache_seconds: float = 300, client: Any = None):
        self.key_id = key_id
        self.cache_seconds = cache_seconds
        self._client = client
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    @property
    def kms(self) -> Any:
        return self._client or aws.client("kms")

    @staticmethod
    def _context(developer_id: str, webhook_id: str, purpose: str | None = None) -> dict[str, str]:
        # The signing secret's context has no purpose (stored ciphertexts predate it); anything
        # else sealed for the webhook names its purpose, so one cannot be opened as the other.
        context = {"developerId": developer_id, "webhookId": webhook_id}
        return {**context, "purpose": purpose} if purpose else context

    def seal(self, secret: str, developer_id: str, webhook_id: str, *, purpose: str | None = None) -> str:
        answer = self.kms.encrypt(
            KeyId=self.key_id,
            Plaintext=secret.encode(),
            EncryptionContext=self._context(developer_id, webhook_id, purpose),
        )
        return base64.b64encode(answer["CiphertextBlob"]).decode()

    def open(self, sealed: str, developer_id: str, webhook_id: str, *, purpose: str | None = None) -> str:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(sealed)
        if cached and cached[0] > now:
            return cached[1]
        answer = self.kms.decrypt(
            KeyId=self.key_id,
            CiphertextBlob=base64.b64decode(sealed),
            EncryptionContext=self._context(developer_id, webhook_id, purpose),
        )
        secret = answer["Plaintext"].decode()
        with self._lock:
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            self._cache[sealed] = (now + self.cache_seconds, secret)
        return secret

    def signing_secrets(self, webhook: "Webhook", now_ms: int) -> list[str]:
        """What signs a post to `webhook` now: its secret, then the previous one while the
        rotation's overlap lasts; none for a webhook without a secret."""
        found = []
        if webhook.sealed_secret:
            found.append(self.open(webhook.sealed_secret, webhook.developer_id, webhook.webhook_id))
            previous, until = webhook.sealed_previous_secret, webhook.previous_secret_until_ms
            if previous and until and until > now_ms:
                found.append(self.open(previous, webhook.developer_id, webhook.webhook_id))
        return found

    def seal_headers(self, headers: dict[str, str], developer_id: str, webhook_id: str) -> str | None:
        if not headers:
            return None
        return self.seal(json.dumps(headers), developer_id, webhook_id, purpose="headers")

    def custom_headers(self, webhook: "Webhook") -> dict[str, str]:
        """The webhook's own headers for every post to it (none when it has none)."""
        if not webhook.sealed_headers:
            return {}
        opened = self.open(webhook.sealed_headers, webhook.developer_id, webhook.webhook_id, purpose="headers")
        return dict(json.loads(opened))


@aws.per_environment
def secret_box(config: Settings) -> SecretBox:
    """The function's box for the stack's key (one per settings, so tests get fresh ones)."""
    return SecretBox(config.secrets_key_id, cache_seconds=config.secret_cache_seconds)
