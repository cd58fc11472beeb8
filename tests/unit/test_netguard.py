import ipaddress
import socket

import pytest

from events_core.config import Settings
from events_core.errors import BadRequest
from events_core.netguard import BlockedAddress, blocked_reason, literal_address, resolve_checked
from events_core.webhooks.urls import check_webhook_url

PRODUCTION = Settings()
LOCAL = Settings(allow_http_urls=True, allowed_private_networks=(ipaddress.ip_network("127.0.0.0/8"),))


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("127.0.0.1", "loopback"),
        ("169.254.169.254", "metadata"),
        ("169.254.10.10", "link-local"),
        ("100.64.0.1", "cgnat"),
        ("0.0.0.0", "this-network"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fd00::1", "unique-local"),
        ("ff02::1", "multicast"),
        ("fd00:ec2::254", "metadata"),
        ("::ffff:127.0.0.1", "ipv4-mapped loopback"),
        ("::ffff:169.254.169.254", "ipv4-mapped metadata"),
        ("::127.0.0.1", "ipv4-mapped loopback"),
        ("64:ff9b::a00:1", "ipv4-translated"),
        ("2001:db8::1", "documentation"),
    ],
)
def test_blocked_address_classes(address, reason):
    assert blocked_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses_pass(address):
    assert blocked_reason(ipaddress.ip_address(address)) is None


def test_allow_list_admits_only_its_networks():
    allowed = (ipaddress.ip_network("127.0.0.0/8"),)
    assert blocked_reason(ipaddress.ip_address("127.0.0.1"), allowed) is None
    assert blocked_reason(ipaddress.ip_address("10.0.0.1"), allowed) == "private"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("example.com", None),
        ("deadbeef.com", None),
    ],
)
def test_literal_addresses_in_every_spelling(host, expected):
    found = literal_address(host)
    assert (str(found) if found else None) == expected


def test_resolution_refuses_a_name_with_any_blocked_address(monkeypatch):
    # Given a name that resolves to a public and a private address
    def fake_getaddrinfo(host, port, **_):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    # Then the whole name is refused, naming the bad address
    with pytest.raises(BlockedAddress, match=r"10\.0\.0\.5 is a private address"):
        resolve_checked("rebind.example", 443)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://example.com/x", "https://"),
        ("http://example.com/x", "https://"),
        ("https://", "no host"),
        ("https://user:pw@example.com/", "credentials"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://10.0.0.8/", "private"),
        ("https://2130706433/", "loopback"),
        ("https://[::ffff:10.0.0.1]/", "ipv4-mapped private"),
        ("https://localhost:8443/", "local or internal"),
        ("https://metadata.google.internal/", "local or internal"),
        ("https://example.com:99999/", "valid URL"),
        ("https://exa mple.com/", "spaces"),
        ("https://fhc70v.com*", "not a valid host name"),  # found by schemathesis
        ("https://-bad.com/", "not a valid host name"),
        ("https://a_b.com/", "not a valid host name"),
        ("https://example.com/" + "a" * 2048, "at most 2048"),
    ],
)
def test_registration_refuses_unreachable_or_internal_urls(url, says):
    with pytest.raises(BadRequest) as refused:
        check_webhook_url(url, PRODUCTION)
    assert says in refused.value.message
    assert refused.value.field == "url"


def test_registration_accepts_the_reference_url_without_any_lookup(monkeypatch):
    def no_dns(*_args, **_kwargs):
        raise AssertionError("registration must not resolve names")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    check_webhook_url("https://my-server.com/webhooks/workflow", PRODUCTION)


def test_local_settings_admit_http_on_loopback_only():
    check_webhook_url("http://127.0.0.1:8080/hook", LOCAL)
    with pytest.raises(BadRequest):
        check_webhook_url("http://10.0.0.1/hook", LOCAL)
