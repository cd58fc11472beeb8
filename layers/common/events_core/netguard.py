"""SSRF guard: which addresses a webhook may reach.

One classification serves registration (literal addresses in a URL) and delivery (every address a
host name resolves to, checked right before connecting to that very address).
"""

import ipaddress
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any

from events_core.config import Network

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Named so that a refusal says which class the address fell in.
_BLOCKED: tuple[tuple[str, Network], ...] = tuple(
    (reason, ipaddress.ip_network(net))
    for reason, net in (
        ("metadata", "169.254.169.254/32"),
        ("metadata", "fd00:ec2::254/128"),
        ("this-network", "0.0.0.0/8"),
        ("private", "10.0.0.0/8"),
        ("cgnat", "100.64.0.0/10"),
        ("loopback", "127.0.0.0/8"),
        ("link-local", "169.254.0.0/16"),
        ("private", "172.16.0.0/12"),
        ("reserved", "192.0.0.0/24"),
        ("documentation", "192.0.2.0/24"),
        ("reserved", "192.88.99.0/24"),
        ("private", "192.168.0.0/16"),
        ("benchmarking", "198.18.0.0/15"),
        ("documentation", "198.51.100.0/24"),
        ("documentation", "203.0.113.0/24"),
        ("multicast", "224.0.0.0/4"),
        ("reserved", "240.0.0.0/4"),
        ("unspecified", "::/128"),
        ("loopback", "::1/128"),
        ("ipv4-compatible", "::/96"),
        ("ipv4-translated", "64:ff9b::/96"),
        ("ipv4-translated", "::ffff:0:0:0/96"),
        ("ipv4-translated", "64:ff9b:1::/48"),
        ("discard", "100::/64"),
        ("reserved", "2001::/23"),
        ("documentation", "2001:db8::/32"),
        ("documentation", "3fff::/20"),
        ("segment-routing", "5f00::/16"),
        ("6to4", "2002::/16"),
        ("unique-local", "fc00::/7"),
        ("link-local", "fe80::/10"),
        ("site-local", "fec0::/10"),
        ("multicast", "ff00::/8"),
    )
)


class DeadlineExceeded(TimeoutError):
    """An attempt ran out of its time (resolution included)."""


class BlockedAddress(Exception):
    def __init__(self, address: str, reason: str):
        super().__init__(f"{address} is a {reason} address")
        self.address = address
        self.reason = reason


def blocked_reason(address: IPAddress, allowed: Iterable[Network] = ()) -> str | None:
    """Why `address` must not be reached, or None when it may be."""
    # An IPv4-mapped, -translated (::ffff:0:a.b.c.d) or -compatible IPv6 address reaches the
    # IPv4 host it embeds.
    if isinstance(address, ipaddress.IPv6Address):
        high = int(address) >> 32
        embedded = address.ipv4_mapped or (
            ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
            if (high == 0 and int(address) > 1) or high == 0xFFFF0000
            else None
        )
        if embedded is not None:
            reason = blocked_reason(embedded, allowed)
            if reason:
                return f"ipv4-mapped {reason}"
            if address.ipv4_mapped is not None:
                return None  # ::ffff:a.b.c.d is the public IPv4 host itself
    if any(address.version == net.version and address in net for net in allowed):
        return None
    for reason, net in _BLOCKED:
        if address.version == net.version and address in net:
            return reason
    if not address.is_global:
        return "non-public"
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address a URL host names literally (including decimal and short IPv4 forms), else None."""
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        pass
    # inet_aton accepts what browsers and libc accept: 2130706433, 0x7f.1, 127.1 ...
    if text and all(c in "0123456789abcdefxABCDEFX." for c in text) and any(c.isdigit() for c in text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


# Name resolution. getaddrinfo cannot be cancelled, so a lookup past its deadline is abandoned and
# its thread finishes on its own. A shared pool of such threads could be filled by one tenant's
# slow names and starve everyone's lookups; instead each lookup gets its own daemon thread.
# Abandoned lookups are counted per developer and registrable domain (the Public Suffix List's:
# `attacker.co.uk`, never `co.uk`, so one tenant's slow names never touch another's receiver under
# the same public suffix). Past MAX_ABANDONED_PER_DOMAIN, that developer's lookups under that
# domain fail at once (its own resolver is the receiver's problem: a counted failure). A lookup
# that times out while another developer's lookups under the same domain are stuck waited on
# names not its own: an infrastructure failure, never counted against the receiver. Past
# MAX_LOOKUPS threads alive in the environment, any lookup fails at once, as an infrastructure
# failure too. Literal addresses need no lookup and no thread.
MAX_LOOKUPS = 256
MAX_ABANDONED_PER_DOMAIN = 8
_lookups_lock = threading.Lock()
_alive = 0
_abandoned: dict[tuple[str, str], int] = {}  # (developer, registrable domain) → stuck lookups
_tenant: ContextVar[str] = ContextVar("lookup_tenant", default="")


@contextmanager
def on_behalf_of(developer_id: str) -> Iterator[None]:
    """Lookups made inside are counted for `developer_id` (the outbound gate sets it per post)."""
    token = _tenant.set(developer_id)
    try:
        yield
    finally:
        _tenant.reset(token)


class ResolverBusy(Exception):
    """A lookup refused before it started, or given up. `infrastructure`: the environment's cap, or
    another developer's stuck names (not the receiver's fault); otherwise the same developer's
    lookups under the same domain are the ones left unanswered."""

    def __init__(self, message: str, *, infrastructure: bool):
        super().__init__(message)
        self.infrastructure = infrastructure


@cache
def _suffixes() -> Any:
    """The Public Suffix List bundled with the package (never fetched at run time), loaded on the
    first lookup of a name: a function that posts nothing never pays for it."""
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList(only_icann=False)


def registrable_domain(host: str) -> str:
    """The registrable domain (eTLD+1) of `host`: hooks.victim.co.uk → victim.co.uk; a host that is
    itself a public suffix, or a single label, stands for itself."""
    name = host.lower().rstrip(".")
    return _suffixes().privatesuffix(name) or name


def _claim(key: tuple[str, str]) -> None:
    global _alive
    with _lookups_lock:
        if _alive >= MAX_LOOKUPS:
            raise ResolverBusy(f"{MAX_LOOKUPS} name lookups already in flight", infrastructure=True)
        stuck = _abandoned.get(key, 0)
        if stuck >= MAX_ABANDONED_PER_DOMAIN:
            raise ResolverBusy(f"{stuck} lookups of names under {key[1]} are still unanswered", infrastructure=False)
        _alive += 1


def _others_stuck(key: tuple[str, str]) -> bool:
    return any(count and other[1] == key[1] and other[0] != key[0] for other, count in _abandoned.items())


def _getaddrinfo(host: str, port: int, timeout: float | None) -> list:
    """getaddrinfo within `timeout`: past it the lookup is abandoned (its thread finishes on its
    own, counted against its domain until then) and the attempt fails on time."""
    if timeout is None or literal_address(host) is not None:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    key = (_tenant.get(), registrable_domain(host))
    _claim(key)
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def lookup() -> None:
        global _alive
        try:
            outcome["addresses"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except Exception as error:  # noqa: BLE001 - handed to the waiting caller below
            outcome["error"] = error
        finally:
            with _lookups_lock:
                _alive -= 1
                if outcome.get("abandoned"):
                    left = _abandoned.get(key, 1) - 1
                    if left > 0:
                        _abandoned[key] = left
                    else:
                        _abandoned.pop(key, None)
                done.set()

    threading.Thread(target=lookup, name="resolve", daemon=True).start()
    if not done.wait(timeout):
        with _lookups_lock:
            if not done.is_set():
                outcome["abandoned"] = True
                _abandoned[key] = _abandoned.get(key, 0) + 1
                if _others_stuck(key):
                    raise ResolverBusy(
                        f"resolving {host} waited behind other lookups under {key[1]}", infrastructure=True
                    )
                raise DeadlineExceeded(f"resolving {host} took longer than {timeout:.1f} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["addresses"]


def resolve_checked(
    host: str, port: int, allowed: Iterable[Network] = (), *, timeout: float | None = None
) -> list[str]:
    """Resolve `host` and return its addresses, refusing the lot if any one is blocked.

    Refusing when any address is bad (not just skipping it) stops a name that mixes a public and
    a private address from being used to reach the private one.
    """
    allowed = tuple(allowed)
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in _getaddrinfo(host, port, timeout):
        text = str(sockaddr[0]).split("%", 1)[0]
        reason = blocked_reason(ipaddress.ip_address(text), allowed)
        if reason:
            raise BlockedAddress(text, reason)
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise socket.gaierror(f"{host} has no address")
    return addresses
