"""Registration-time checks of a webhook URL. No DNS here: delivery re-checks every address.

The syntax accepted in production is exactly what openapi.yaml's `url` pattern says (a test keeps
them in step): https, a public host name of two labels or more, port 443, 80 or 1024-65535, and a
printable-ASCII path and query. Local runs (AllowHttpUrls, AllowedPrivateNetworks) also admit
http:// and literal addresses inside the allowed networks.
"""

import re
from urllib.parse import SplitResult, urlsplit

from events_core.config import Settings
from events_core.errors import BadRequest
from events_core.netguard import blocked_reason, literal_address

MAX_URL_LENGTH = 2048
# Letters, digits and hyphens, as DNS names are (internationalised names arrive as punycode).
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_TOP_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,62}(?<!-)$")
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "metadata.google.internal", "instance-data")
_LOCAL_SUFFIXES = (".localhost", ".internal", ".local", ".home.arpa")
# Well-known service ports below 1024 (SSH, SMTP, DNS…) are not webhook receivers.
_LOW_PORTS = (80, 443)


def _refuse(message: str) -> BadRequest:
    return BadRequest(f"url: {message}", field="url")


def _is_local_name(host: str) -> bool:
    host = host.lower()
    return host in _LOCAL_NAMES or host.endswith(_LOCAL_SUFFIXES)


def _check_host(host: str, settings: Settings) -> None:
    address = literal_address(host)
    allowed = settings.allowed_private_networks
    if address is not None:
        reason = blocked_reason(address, allowed)
        if reason:
            raise _refuse(f"{host} is a {reason} address; webhooks must reach a public host")
        if not any(address.version == net.version and address in net for net in allowed):
            raise _refuse(f"{host} is a literal address; give the receiver's host name")
        return
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise _refuse(f"{host!r} is not a valid host name")
    if _is_local_name(host):
        if not allowed:
            raise _refuse(f"{host} names a local or internal host; webhooks must reach a public host")
        return
    if len(labels) < 2 or not _TOP_LABEL.match(labels[-1]):
        raise _refuse(f"{host!r} is not a public host name (like hooks.example.com)")


def check_webhook_url(url: str, settings: Settings) -> SplitResult:
    if len(url) > MAX_URL_LENGTH:
        raise _refuse(f"must be at most {MAX_URL_LENGTH} characters")
    if not all(0x21 <= ord(c) <= 0x7E for c in url):
        raise _refuse("must be printable ASCII without spaces; percent-encode anything else (RFC 3986)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise _refuse(f"is not a valid URL ({error})") from None
    allowed_schemes = ("https", "http") if settings.allow_http_urls else ("https",)
    if parts.scheme not in allowed_schemes:
        raise _refuse("must be an https:// URL" if not settings.allow_http_urls else "must be an http(s) URL")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise _refuse("must not carry credentials (user:password@)")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise _refuse("has no host")
    if port is not None and port not in _LOW_PORTS and not 1024 <= port <= 65535:
        raise _refuse(f"port {port} is not allowed; use 443, 80 or 1024-65535")
    _check_host(host, settings)
    return parts


def origin(url: str) -> str:
    """scheme://host:port, lower-cased, the port always written: what credentials are bound to."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return ""
    return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{port}"
