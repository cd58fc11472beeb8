"""The HTTP POST of one delivery attempt: safe against SSRF, and over in a fixed time.

SSRF: the host is resolved, every address checked, and the connection made to a checked address
(no second lookup, so DNS rebinding cannot swap it), with TLS still verified against the host name.
Redirects are not followed; at most `response_cap_bytes` of the answer are read.

Deadline: one wall-clock deadline covers the whole attempt — resolving, connecting, the TLS
handshake, sending, and reading the status line, headers and capped body. Every socket operation
waits only for what is left of it, so a receiver that drips one byte a second is cut off on time.
That is why this is the standard library's http.client over deadline-aware sockets and not
requests/urllib3: their timeouts apply to each read separately, never to the whole exchange.

Idle keep-alive connections are reused for a few seconds; a reused connection the receiver had
already closed is retried once on a fresh one (before any answer byte, so the post did not land).
"""

import email.utils
import http.client
import re
import select
import socket
import ssl
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlsplit

from events_core import aws
from events_core.config import Settings
from events_core.netguard import BlockedAddress, DeadlineExceeded, ResolverBusy, resolve_checked

IDLE_SECONDS = 4.0  # below common receivers' keep-alive timeouts (Node.js: 5 s)
MAX_POOLS = 100
_DIGITS = re.compile(r"[0-9]{1,10}")


@dataclass(frozen=True)
class PostResult:
    status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    latency_ms: int = 0
    excerpt: str = ""  # the start of the receiver's answer, as text
    infrastructure: bool = False  # failed on our side (a busy resolver): not the receiver's fault

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        return f"HTTP {self.status}" if self.status is not None else (self.error or "unknown error")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a receiver asks us to wait (delta-seconds or an HTTP date); None when the header is
    absent, malformed, or names a moment already past — the schedule applies then."""
    if not value:
        return None
    value = value.strip()
    if _DIGITS.fullmatch(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    try:
        seconds = when.timestamp() - (time.time() if now is None else now)
    except (OverflowError, OSError, ValueError):
        return None
    return seconds if seconds > 0 else None


class _ClosedBeforeAnswer(ConnectionError):
    """The connection ended before the status line: the receiver never answered this request."""


class Deadline:
    def __init__(self, seconds: float):
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        remaining = self.at - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded("the attempt's deadline passed")
        return remaining


class _DeadlineSocket(socket.socket):
    """A plain socket whose every blocking call waits only until the deadline."""

    deadline: Deadline

    def recv_into(self, *args, **kwargs):
        self.settimeout(self.deadline.left())
        return super().recv_into(*args, **kwargs)

    def recv(self, *args, **kwargs):
        self.settimeout(self.deadline.left())
        return super().recv(*args, **kwargs)

    def sendall(self, *args, **kwargs):
        self.settimeout(self.deadline.left())
        return super().sendall(*args, **kwargs)


class _DeadlineSSLSocket(_DeadlineSocket, ssl.SSLSocket):
    """The TLS counterpart (the same calls, reaching SSLSocket's); the deadline is carried over
    from the plain socket it wraps."""


def _handshake(tls: ssl.SSLSocket, deadline: Deadline) -> None:
    """The TLS handshake, non-blocking, so that a receiver stalling inside it cannot outlast the deadline."""
    tls.setblocking(False)
    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            ready = select.select([tls], [], [], deadline.left())[0]
        except ssl.SSLWantWriteError:
            ready = select.select([], [tls], [], deadline.left())[1]
        if not ready:
            raise DeadlineExceeded("the TLS handshake did not finish before the deadline")
    tls.setblocking(True)


class _Connection(http.client.HTTPConnection):
    """http.client over a socket we opened ourselves, to an address we checked ourselves."""

    def __init__(self, sock: socket.socket, host: str, port: int):
        super().__init__(host, port)
        self.sock = sock
        self.idle_since = time.monotonic()

    def connect(self) -> None:  # never called: the socket is given
        raise ConnectionError("this connection was closed")

    def arm(self, deadline: Deadline) -> None:
        self.sock.deadline = deadline  # type: ignore[union-attr]


class Sender:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._tls = ssl.create_default_context()
        self._tls.sslsocket_class = _DeadlineSSLSocket
        self._idle: OrderedDict[tuple, list[_Connection]] = OrderedDict()
        self._lock = threading.Lock()

    def post(
        self, url: str, body: bytes, headers: dict[str, str], *, deadline_seconds: float | None = None
    ) -> PostResult:
        """One attempt, never longer than `deadline_seconds` (the setting by default), never raising:
        whatever the receiver does, the attempt ends as a PostResult."""
        started = time.perf_counter()
        deadline = Deadline(min(self.settings.total_timeout, deadline_seconds or self.settings.total_timeout))
        try:
            status, retry_after, excerpt = self._post(url, body, headers, deadline)
        except BlockedAddress as blocked:
            return PostResult(error=f"blocked: {blocked}", latency_ms=_ms(started))
        except ResolverBusy as busy:
            return PostResult(
                error=f"resolver busy: {busy}", latency_ms=_ms(started), infrastructure=busy.infrastructure
            )
        except socket.gaierror as error:
            return PostResult(error=f"dns: {error}", latency_ms=_ms(started))
        except TimeoutError:  # DeadlineExceeded included
            elapsed = _ms(started)
            return PostResult(error=f"timeout: no complete answer within {elapsed / 1000:.1f} s", latency_ms=elapsed)
        except Exception as error:  # noqa: BLE001 - a receiver must never crash delivery: every failure is a counted attempt
            return PostResult(error=f"{type(error).__name__}: {error}"[:500], latency_ms=_ms(started))
        return PostResult(status=status, retry_after=retry_after, latency_ms=_ms(started), excerpt=excerpt)

    # -- the exchange
    def _post(
        self, url: str, body: bytes, headers: dict[str, str], deadline: Deadline
    ) -> tuple[int, float | None, str]:
        parts = urlsplit(url)
        allowed = ("https", "http") if self.settings.allow_http_urls else ("https",)
        if parts.scheme not in allowed or not parts.hostname:
            raise BlockedAddress(url, f"{parts.scheme or 'schemeless'} URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = resolve_checked(
            parts.hostname, port, self.settings.allowed_private_networks, timeout=deadline.left()
        )
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = {**headers, "Host": parts.netloc.rpartition("@")[2]}
        key = (parts.scheme, tuple(addresses), port, parts.hostname)
        connection = self._checkout(key)
        if connection is not None:
            try:
                return self._exchange(key, connection, path, body, sent, deadline)
            except _ClosedBeforeAnswer:
                pass  # the receiver had closed the idle connection: once more, on a fresh one
        connection = self._connect(parts.scheme, addresses, port, parts.hostname, deadline)
        return self._exchange(key, connection, path, body, sent, deadline)

    def _exchange(
        self, key: tuple, connection: _Connection, path: str, body: bytes, headers: dict, deadline: Deadline
    ) -> tuple[int, float | None, str]:
        connection.arm(deadline)
        try:
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as error:
                raise _ClosedBeforeAnswer(str(error)) from error
            answer = response.read(self.settings.response_cap_bytes + 1)
        except BaseException:
            connection.close()
            raise
        if response.isclosed() and not response.will_close and len(answer) <= self.settings.response_cap_bytes:
            self._checkin(key, connection)
        else:
            connection.close()  # more to read than we read, or the receiver is closing: not reusable
        retry_after = None if 200 <= response.status < 300 else parse_retry_after(response.getheader("Retry-After"))
        excerpt = answer[: self.settings.response_cap_bytes].decode("utf-8", "replace")
        return response.status, retry_after, excerpt

    def _connect(self, scheme: str, addresses: list[str], port: int, hostname: str, deadline: Deadline) -> _Connection:
        last_error: OSError = OSError(f"{hostname} has no address")
        for address in addresses:  # the next checked address when one does not answer
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sock = _DeadlineSocket(family, socket.SOCK_STREAM)
            sock.deadline = deadline
            try:
                sock.settimeout(min(self.settings.connect_timeout, deadline.left()))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.connect((address, port))
            except OSError as error:
                sock.close()
                last_error = error
                continue
            if scheme != "https":
                return _Connection(sock, hostname, port)
            tls = self._tls.wrap_socket(sock, server_hostname=hostname, do_handshake_on_connect=False)
            tls.deadline = deadline  # type: ignore[attr-defined]
            try:
                _handshake(tls, deadline)
            except BaseException:
                tls.close()
                raise
            return _Connection(tls, hostname, port)
        raise last_error

    # -- keep-alive pool
    def _checkout(self, key: tuple) -> _Connection | None:
        now = time.monotonic()
        with self._lock:
            idle = self._idle.get(key) or []
            while idle:
                connection = idle.pop()
                if now - connection.idle_since < IDLE_SECONDS:
                    return connection
                connection.close()
        return None

    def _checkin(self, key: tuple, connection: _Connection) -> None:
        connection.idle_since = time.monotonic()
        with self._lock:
            idle = self._idle.setdefault(key, [])
            self._idle.move_to_end(key)
            if len(idle) < self.settings.delivery_concurrency:
                idle.append(connection)
                connection = None  # type: ignore[assignment]
            while len(self._idle) > MAX_POOLS:
                _, dropped = self._idle.popitem(last=False)
                for stale in dropped:
                    stale.close()
        if connection is not None:
            connection.close()


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


@aws.per_environment
def sender(config: Settings) -> Sender:
    """One per execution environment: its TLS context and its pooled connections are reused."""
    return Sender(config)
