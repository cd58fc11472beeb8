"""Review N7: one tenant's slow names cannot starve name resolution for everyone.

The old resolver was one shared 16-thread pool per execution environment; 16 lookups of names
that never answer filled it, and every other tenant's attempt then timed out (and counted against
that tenant's webhook). Here `socket.getaddrinfo` is patched: names under slow-dns.example hang
until the test ends, every other name answers at once.
"""

import socket
import threading

import pytest

from events_core import netguard
from events_core.config import Settings
from events_core.delivery.sender import Sender

PUBLIC = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443))]


@pytest.fixture
def slow_dns(monkeypatch):
    release = threading.Event()

    def getaddrinfo(host, port, *args, **kwargs):
        if host.endswith("slow-dns.example"):
            release.wait(30)
            raise socket.gaierror("gave up")
        return PUBLIC

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield
    release.set()
    for _ in range(200):  # the abandoned lookups finish now; wait until none is counted in flight
        if not netguard._lookups:
            break
        threading.Event().wait(0.01)


def test_another_tenants_lookup_succeeds_while_one_tenants_names_hang(slow_dns):
    for n in range(40):  # more than the old pool's 16 threads, more than any per-domain cap
        with pytest.raises((netguard.DeadlineExceeded, netguard.ResolverBusy)):
            netguard.resolve_checked(f"h{n}.slow-dns.example", 443, timeout=0.05)
    assert netguard.resolve_checked("victim.example", 443, timeout=1.0) == ["93.184.216.34"]


def test_a_busy_resolver_is_an_infrastructure_failure_not_the_receivers(slow_dns):
    sender = Sender(Settings())
    for n in range(netguard.MAX_LOOKUPS_PER_DOMAIN):
        result = sender.post(f"https://h{n}.slow-dns.example/in", b"{}", {}, deadline_seconds=0.05)
        assert result.error.startswith("timeout") and not result.infrastructure  # its own DNS: its fault
    busy = sender.post("https://more.slow-dns.example/in", b"{}", {}, deadline_seconds=0.05)
    assert busy.infrastructure and busy.error.startswith("resolver busy")
    assert busy.latency_ms < 50  # refused at once, not after waiting for a thread


def test_the_environment_cap_holds_across_domains(slow_dns, monkeypatch):
    monkeypatch.setattr(netguard, "MAX_LOOKUPS", 3)
    for n in range(3):
        with pytest.raises(netguard.DeadlineExceeded):
            netguard.resolve_checked(f"h.d{n}-slow-dns.example", 443, timeout=0.05)  # three domains
    with pytest.raises(netguard.ResolverBusy):
        netguard.resolve_checked("victim.example", 443, timeout=1.0)
