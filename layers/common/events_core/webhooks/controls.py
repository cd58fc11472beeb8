"""Validation of the receiver controls a webhook may carry: a rate limit and custom headers.

Custom header names must not take over anything the service owns or HTTP reserves: the
service's own headers (X-Webhook-*, webhook-*, Content-Type, User-Agent, Authorization when
OAuth2 is set), the framing and hop-by-hop headers, and the cloud prefixes proxies act on.
"""

import json
import re
from typing import Any

from events_core.config import Settings
from events_core.errors import BadRequest
from events_core.webhooks.urls import check_webhook_url

MAX_HEADERS = 10
MAX_HEADER_VALUE_BYTES = 4096
MAX_HEADERS_BYTES = 8192
MAX_SEALED_HEADERS_BYTES = 4096  # KMS Encrypt's largest plaintext
MAX_RATE_COUNT = 10_000
MAX_RATE_PERIOD_SECONDS = 3600
MAX_RATE_PER_SECOND = 500  # one DynamoDB item takes the slots: about 1,000 writes a second

_TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")  # RFC 9110 token
# One deny-list, each entry with why it is refused (the 400 says it).
_SERVICE = "the service sets it"
_FRAMING = "it frames the HTTP message (hop-by-hop or length/encoding): the service's connection owns it"
_PROXY = "proxies and frameworks act on it (routing, client address or method): a receiver could be misled"
FORBIDDEN_HEADERS: dict[str, str] = {
    "host": _FRAMING,
    "content-type": _SERVICE,
    "content-length": _FRAMING,
    "content-encoding": _FRAMING,
    "transfer-encoding": _FRAMING,
    "accept-encoding": _FRAMING,
    "connection": _FRAMING,
    "keep-alive": _FRAMING,
    "upgrade": _FRAMING,
    "te": _FRAMING,
    "trailer": _FRAMING,
    "expect": _FRAMING,
    "proxy-authorization": _PROXY,
    "proxy-connection": _PROXY,
    "user-agent": _SERVICE,
    "cookie": "cookies are the receiver's own, never the service's",
    "date": _SERVICE,
    "via": _PROXY,
    "forwarded": _PROXY,
    "x-real-ip": _PROXY,
    "x-client-ip": _PROXY,
    "true-client-ip": _PROXY,
    "cf-connecting-ip": _PROXY,
    "x-original-url": _PROXY,
    "x-rewrite-url": _PROXY,
    "x-original-method": _PROXY,
    "x-http-method-override": _PROXY,
    "x-http-method": _PROXY,
    "x-method-override": _PROXY,
    "traceparent": _SERVICE,
    "tracestate": _SERVICE,
}
FORBIDDEN_PREFIXES: dict[str, str] = {
    "x-webhook-": _SERVICE,
    "webhook-": _SERVICE,
    "x-amz-": "AWS services act on it",
    "x-amzn-": "AWS services act on it",
    "proxy-": _PROXY,
    "sec-": "browsers reserve it",
    "x-forwarded-": _PROXY,
}


def refused_header(name: str, *, oauth: bool = False) -> str | None:
    """Why a custom header name is refused (None: it may be given). Names ignore case."""
    lower = name.lower()
    if oauth and lower == "authorization":
        return "the service sets it from auth (OAuth2)"
    if lower in FORBIDDEN_HEADERS:
        return FORBIDDEN_HEADERS[lower]
    return next((why for prefix, why in FORBIDDEN_PREFIXES.items() if lower.startswith(prefix)), None)


def parse_rate_limit(value: Any) -> dict[str, int] | None:
    """`{count, periodSeconds}` or null (unlimited)."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"count", "periodSeconds"}:
        raise BadRequest("rateLimit: must be null or {count, periodSeconds}", field="rateLimit")
    count, period = value["count"], value["periodSeconds"]
    if not _integer(count) or not 1 <= count <= MAX_RATE_COUNT:
        raise BadRequest(f"rateLimit.count: must be an integer from 1 to {MAX_RATE_COUNT}", field="rateLimit.count")
    if not _integer(period) or not 1 <= period <= MAX_RATE_PERIOD_SECONDS:
        raise BadRequest(
            f"rateLimit.periodSeconds: must be an integer from 1 to {MAX_RATE_PERIOD_SECONDS}",
            field="rateLimit.periodSeconds",
        )
    if count / period > MAX_RATE_PER_SECOND:
        raise BadRequest(f"rateLimit: at most {MAX_RATE_PER_SECOND} posts a second", field="rateLimit")
    return {"count": int(count), "periodSeconds": int(period)}


def _integer(value: Any) -> bool:
    """An integer, written as one or as a whole number with a fraction part (300.0 is JSON's 300)."""
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int) and not isinstance(value, bool)


def parse_headers(value: Any, *, oauth: bool = False) -> dict[str, str]:
    """`{name: value}`: at most MAX_HEADERS, names tokens the service does not own, values free
    of control characters (no CR or LF: no header injection). `{}` or null removes them all."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest("headers: must be an object of header names to values", field="headers")
    if len(value) > MAX_HEADERS:
        raise BadRequest(f"headers: at most {MAX_HEADERS} headers", field="headers")
    seen: set[str] = set()
    total = 0
    for name, text in value.items():
        shown = f"headers.{name[:64]}"
        if not _TOKEN.match(name):
            raise BadRequest(f"{shown}: a header name is 1 to 64 token characters", field=shown)
        lower = name.lower()
        if lower in seen:
            raise BadRequest(f"{shown}: given twice (header names ignore case)", field=shown)
        seen.add(lower)
        why = refused_header(name, oauth=oauth)
        if why is not None:
            raise BadRequest(f"{shown}: this header cannot be given: {why}", field=shown)
        if not isinstance(text, str) or not text:
            raise BadRequest(f"{shown}: the value must be a non-empty string", field=shown)
        if any(not (0x20 <= ord(c) <= 0x7E or c == "\t") for c in text):
            raise BadRequest(
                f"{shown}: the value must be printable ASCII (no CR, LF or other control characters)", field=shown
            )
        size = len(text.encode())
        if size > MAX_HEADER_VALUE_BYTES:
            raise BadRequest(f"{shown}: the value is over {MAX_HEADER_VALUE_BYTES} bytes", field=shown)
        total += size + len(name)
    if total > MAX_HEADERS_BYTES:
        raise BadRequest(f"headers: over {MAX_HEADERS_BYTES} bytes in all", field="headers")
    found = {str(name): str(text) for name, text in value.items()}
    # They are sealed in one KMS Encrypt call, whose plaintext is at most 4096 bytes (a 500 before).
    if len(json.dumps(found).encode()) > MAX_SEALED_HEADERS_BYTES:
        raise BadRequest(f"headers: over {MAX_SEALED_HEADERS_BYTES} bytes in all, as JSON", field="headers")
    return found


AUTH_FIELDS = ("type", "tokenUrl", "clientId", "clientSecret", "scope", "audience")
MAX_AUTH_TEXT = 1024


def parse_auth(value: Any, settings: Settings) -> dict[str, str] | None:
    """`{type: "oauth2", tokenUrl, clientId, clientSecret, scope?, audience?}` or null (none).
    The token URL passes the same checks as a webhook URL (it is called the same way)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest("auth: must be null or an object", field="auth")
    unknown = sorted(set(value) - set(AUTH_FIELDS))
    if unknown:
        raise BadRequest(f"auth.{unknown[0][:64]}: unknown; allowed: {', '.join(AUTH_FIELDS)}", field="auth")
    if value.get("type") != "oauth2":
        raise BadRequest('auth.type: must be "oauth2" (client credentials)', field="auth.type")
    found: dict[str, str] = {"type": "oauth2"}
    for name in AUTH_FIELDS[1:]:
        text = value.get(name)
        required = name in ("tokenUrl", "clientId", "clientSecret")
        if text is None and not required:
            continue
        if not isinstance(text, str) or not text or len(text) > MAX_AUTH_TEXT:
            raise BadRequest(f"auth.{name}: must be a string of 1 to {MAX_AUTH_TEXT} characters", field=f"auth.{name}")
        if any(not 0x20 <= ord(c) <= 0x7E for c in text):
            raise BadRequest(f"auth.{name}: must be printable ASCII", field=f"auth.{name}")
        found[name] = text
    try:
        check_webhook_url(found["tokenUrl"], settings)
    except BadRequest as refused:
        raise BadRequest(f"auth.tokenUrl: {refused.message.removeprefix('url: ')}", field="auth.tokenUrl") from None
    return found


def check_no_authorization_header(header_names: list[str], has_auth: bool) -> None:
    if has_auth and any(name.lower() == "authorization" for name in header_names):
        raise BadRequest(
            "headers.Authorization: the service sets it from auth (OAuth2); remove one of them",
            field="headers.Authorization",
        )
