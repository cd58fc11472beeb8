"""Registration-time checks of a webhook URL. No DNS here: delivery re-checks every address."""

import re
from urllib.parse import SplitResult, urlsplit

from events_core.config import Settings
from events_core.errors import BadRequest
from events_core.netguard import blocked_reason, literal_address

MAX_URL_LENGTH = 2048
# Letters, digits and hyphens, as DNS names are (internationalised names arrive as punycode).
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "metadata.google.internal", "instance-data")


def _refuse(message: str) -> BadRequest:
    return BadRequest(f"url: {message}", field="url")


def _is_local_name(host: str) -> bool:
    host = host.lower()
    return host in _LOCAL_NAMES or host.endswith((".localhost", ".internal", ".local"))


def check_webhook_url(url: str, settings: Settings) -> SplitResult:
    if len(url) > MAX_URL_LENGTH:
        raise _refuse(f"must be at most {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise _refuse("must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise _refuse(f"is not a valid URL ({error})") from None
    allowed_schemes = ("https", "http") if settings.allow_http_urls else ("https",)
    if parts.scheme not in allowed_schemes:
        raise _refuse("must be an https:// URL" if not settings.allow_http_urls else "must be an http(s) URL")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise _refuse("has no host")
    if parts.username is not None or parts.password is not None:
        raise _refuse("must not carry credentials (user:password@)")
    if port == 0:
        raise _refuse("port 0 is not reachable")
    address = literal_address(host)
    if address is not None:
        reason = blocked_reason(address, settings.allowed_private_networks)
        if reason:
            raise _refuse(f"{host} is a {reason} address; webhooks must reach a public host")
    elif len(host) > 253 or not all(_LABEL.match(label) for label in host.split(".")):
        raise _refuse(f"{host!r} is not a valid host name")
    elif _is_local_name(host) and not settings.allowed_private_networks:
        raise _refuse(f"{host} names a local or internal host; webhooks must reach a public host")
    return parts
