"""Review N7: one tenant's slow names cannot starve name resolution for everyone.

The old resolver was one shared 16-thread pool per execution environment; 16 lookups of names
that never answer filled it, and every other tenant's attempt then timed out (and counted against
that tenant's webhook). Here `socket.getaddrinfo` is patched: names under slow-dns.example hang
until the test ends, every other name answers (after `FAST_SECONDS`).
"""

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from events_core import netguard
from events_core.config import Settings
from events_core.delivery.sender import Sender

PUBLIC = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443))]
FAST_SECONDS = 0.02


@pytest.fixture
def slow_dns(monkeypatch):
    release = threading.Event()

    def getaddrinfo(host, port, *args, **kwargs):
        if host.endswith("slow-dns.example"):
            release.wait(30)
            raise socket.gaierror("gave up")
        time.sleep(FAST_SECONDS)
        return PUBLIC

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield
    release.set()
    for _ in range(300):  # the abandoned lookups finish now; wait until none is left alive
        if not netguard._alive and not netguard._abandoned:
            break
        time.sleep(0.01)


def test_another_tenants_lookup_succeeds_while_one_tenants_names_hang(slow_dns):
    for n in range(40):  # more than the old pool's 16 threads
        with pytest.raises((netguard.DeadlineExceeded, netguard.ResolverBusy)):
            netguard.resolve_checked(f"h{n}.slow-dns.example", 443, timeout=0.05)
    assert netguard.resolve_checked("victim.example", 443, timeout=1.0) == ["93.184.216.34"]


def test_many_concurrent_lookups_of_one_busy_domain_all_succeed(slow_dns):
    """A popular receiver domain (many tenants' webhooks) is not throttled by the isolation."""
    with ThreadPoolExecutor(max_workers=30) as pool:
        found = list(pool.map(lambda n: netguard.resolve_checked(f"t{n}.hooks.example", 443, timeout=2.0), range(30)))
    assert found == [["93.184.216.34"]] * 30


def test_a_domain_whose_lookups_hang_fails_fast_and_counts_against_its_receiver(slow_dns):
    sender = Sender(Settings())
    for n in range(netguard.MAX_ABANDONED_PER_DOMAIN):
        result = sender.post(f"https://h{n}.slow-dns.example/in", b"{}", {}, deadline_seconds=0.05)
        assert result.error.startswith("timeout") and not result.infrastructure
    started = time.perf_counter()
    busy = sender.post("https://more.slow-dns.example/in", b"{}", {}, deadline_seconds=1.0)
    assert busy.error.startswith("resolver busy") and not busy.infrastructure
    assert time.perf_counter() - started < 0.5  # refused at once, not after waiting for a thread


def test_the_environment_cap_is_an_infrastructure_failure_not_the_receivers(slow_dns, monkeypatch):
    monkeypatch.setattr(netguard, "MAX_LOOKUPS", 3)
    for n in range(3):
        with pytest.raises(netguard.DeadlineExceeded):
            netguard.resolve_checked(f"h.d{n}-slow-dns.example", 443, timeout=0.05)  # three domains
    busy = Sender(Settings()).post("https://victim.example/in", b"{}", {}, deadline_seconds=1.0)
    assert busy.infrastructure and busy.error.startswith("resolver busy")


def test_a_literal_address_needs_no_lookup_thread(slow_dns, monkeypatch):
    monkeypatch.setattr(netguard, "MAX_LOOKUPS", 0)  # no thread may start
    assert netguard.resolve_checked("93.184.216.34", 443, timeout=1.0) == ["93.184.216.34"]


@pytest.fixture
def slow_attacker_co_uk(monkeypatch):
    """Review M3's setting: names under attacker.co.uk and slow.shared-host.example hang; the rest answer."""
    release = threading.Event()

    def getaddrinfo(host, port, *args, **kwargs):
        if host.endswith(("attacker.co.uk", "slow.shared-host.example")):
            release.wait(30)
            raise socket.gaierror("gave up")
        time.sleep(FAST_SECONDS)
        return PUBLIC

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield
    release.set()
    for _ in range(300):
        if not netguard._alive and not netguard._abandoned:
            break
        time.sleep(0.01)


def test_one_tenants_slow_co_uk_names_never_fail_another_tenants_co_uk_receiver(slow_attacker_co_uk):
    """Review M3: the cap grouped names by their last two labels (`co.uk`), so eight slow lookups of
    one tenant's `*.attacker.co.uk` failed another tenant's `hooks.victim.co.uk` as a counted
    failure. Lookups are grouped by registrable domain (the Public Suffix List) and developer."""
    sender = Sender(Settings())
    for n in range(netguard.MAX_ABANDONED_PER_DOMAIN + 2):
        with netguard.on_behalf_of("user_A"):
            result = sender.post(f"https://h{n}.attacker.co.uk/in", b"{}", {}, deadline_seconds=0.05)
        assert result.status is None and not result.infrastructure  # its own names: its own failures
    assert ("user_A", "attacker.co.uk") in netguard._abandoned and not any(
        domain == "co.uk" for _, domain in netguard._abandoned
    )
    with netguard.on_behalf_of("user_B"):
        assert netguard.resolve_checked("hooks.victim.co.uk", 443, timeout=1.0) == ["93.184.216.34"]


def test_a_lookup_waiting_on_another_developers_names_is_an_infrastructure_failure(slow_attacker_co_uk):
    """Two developers under one registrable domain: A's stuck lookups never fill B's cap, and a
    lookup of B's that times out beside A's stuck ones is not counted against B's receiver."""
    sender = Sender(Settings())
    for n in range(netguard.MAX_ABANDONED_PER_DOMAIN):
        with netguard.on_behalf_of("user_A"):
            sender.post(f"https://h{n}.slow.shared-host.example/in", b"{}", {}, deadline_seconds=0.05)
    with netguard.on_behalf_of("user_B"):
        assert netguard.resolve_checked("fast.shared-host.example", 443, timeout=1.0) == ["93.184.216.34"]
        waited = sender.post("https://b.slow.shared-host.example/in", b"{}", {}, deadline_seconds=0.05)
    assert waited.error.startswith("resolver busy") and waited.infrastructure


def test_the_public_suffix_list_is_the_packages_own_never_fetched(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the Public Suffix List must not be fetched at run time")

    monkeypatch.setattr(socket, "create_connection", no_network)
    netguard._suffixes.cache_clear()
    assert netguard.registrable_domain("a.b.attacker.co.uk") == "attacker.co.uk"
    assert netguard.registrable_domain("x.y.github.io") == "y.github.io"
    assert netguard.registrable_domain("co.uk") == "co.uk"
