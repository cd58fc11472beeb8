"""The HTTP POST of one delivery, safe against SSRF: the host is resolved, every address checked,
and the connection made to the checked address (no second lookup, so DNS rebinding cannot swap it),
with TLS still verified against the host name. Redirects are not followed; the answer is read only
up to a small cap. Connections are pooled per (address, port, host name) across invocations."""

import email.utils
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3

from events_core.config import Settings
from events_core.netguard import BlockedAddress, resolve_checked


@dataclass(frozen=True)
class PostResult:
    status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    latency_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        return f"HTTP {self.status}" if self.status is not None else (self.error or "unknown error")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class Sender:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._pools = urllib3.PoolManager(num_pools=100, maxsize=settings.delivery_concurrency, retries=False)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostResult:
        started = time.perf_counter()
        try:
            status, retry_after = self._post(url, body, headers)
        except BlockedAddress as blocked:
            return PostResult(error=f"blocked: {blocked}", latency_ms=_ms(started))
        except socket.gaierror as error:
            return PostResult(error=f"dns: {error}", latency_ms=_ms(started))
        except (urllib3.exceptions.HTTPError, OSError) as error:
            return PostResult(error=f"{type(error).__name__}: {error}", latency_ms=_ms(started))
        return PostResult(status=status, retry_after=retry_after, latency_ms=_ms(started))

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, float | None]:
        parts = urlsplit(url)
        allowed = ("https", "http") if self.settings.allow_http_urls else ("https",)
        if parts.scheme not in allowed or not parts.hostname:
            raise BlockedAddress(url, f"{parts.scheme or 'schemeless'} URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = resolve_checked(parts.hostname, port, self.settings.allowed_private_networks)[0]
        tls = {"server_hostname": parts.hostname, "assert_hostname": parts.hostname} if parts.scheme == "https" else {}
        pool = self._pools.connection_from_host(address, port, parts.scheme, pool_kwargs=tls)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        response = pool.urlopen(
            "POST",
            path,
            body=body,
            headers={**headers, "Host": parts.netloc.rpartition("@")[2]},
            redirect=False,
            retries=False,
            assert_same_host=False,
            preload_content=False,
            timeout=urllib3.Timeout(
                total=self.settings.total_timeout,
                connect=self.settings.connect_timeout,
                read=self.settings.total_timeout,
            ),
        )
        # Read (and drop) at most the cap, so that a short answer leaves the connection reusable.
        try:
            answer = response.read(self.settings.response_cap_bytes + 1)
            if len(answer) > self.settings.response_cap_bytes:
                response.close()  # a receiver that talks too much loses its pooled connection
            else:
                response.release_conn()
        except (urllib3.exceptions.HTTPError, OSError):
            response.close()
        return response.status, parse_retry_after(response.headers.get("Retry-After"))


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
