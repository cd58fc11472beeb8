"""The secret `eventsapi listen` keeps for its sessions, so the receiver it forwards to keeps
verifying across restarts and reconnects (as the Stripe CLI keeps one per device).

It lives in the user's config directory ($XDG_CONFIG_HOME, else ~/.config)/eventsapi/listen-secret,
mode 0600, in the Standard Webhooks form (whsec_ + base64 of 32 random bytes), which the API takes
as a session's secret and which verifies as given with the reference snippet and the libraries."""

import base64
import os
import secrets
from pathlib import Path

from events_core.listen.requests import whsec_key

FILE_NAME = "listen-secret"


class SecretFileProblem(Exception):
    """The kept secret cannot be read or is not a whsec_ secret: say where, change nothing."""


def secret_path() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "eventsapi" / FILE_NAME


def kept_secret(path: Path | None = None) -> str:
    """The kept secret, made (and kept, 0600) the first time."""
    path = path or secret_path()
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return _new(path)
    except OSError as error:
        raise SecretFileProblem(f"{path}: {error.strerror}") from None
    if whsec_key(text) is None:
        raise SecretFileProblem(
            f"{path} holds no whsec_ secret (whsec_ + base64 of 24 to 64 bytes): fix it, or delete it for a new one"
        )
    return text


def _new(path: Path) -> str:
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:  # O_EXCL: two listens starting at once keep one secret, the first one's
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return kept_secret(path)
    with os.fdopen(descriptor, "w") as file:
        file.write(secret + "\n")
    return secret
