"""HTTPS delivery through the SSRF guard: the connection goes to the checked address while TLS is
still verified against the URL's host name (SNI and certificate), with a real TLS server on 127.0.0.1."""

import datetime
import ipaddress
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from events_core.config import Settings
from events_core.delivery.sender import Sender

HOST = "hooks.example.test"


def self_signed(tmp_path, name: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


@pytest.fixture
def tls_receiver(tmp_path):
    cert, key = self_signed(tmp_path, HOST)
    seen: list[tuple[str | None, str, bytes]] = []
    sni: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((sni[-1], self.headers["Host"], body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    class QuietServer(HTTPServer):
        def handle_error(self, request, client_address) -> None:
            """Refused handshakes are what two of these tests are about."""

    server = QuietServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _socket, name, _context: sni.append(name)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], cert, seen
    server.shutdown()


@pytest.fixture
def name_resolves_to_loopback(monkeypatch):
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        return real("127.0.0.1" if host.endswith(".test") else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


LOOPBACK_ALLOWED = Settings(allowed_private_networks=(ipaddress.ip_network("127.0.0.0/8"),), total_timeout=5)


def test_https_goes_to_the_checked_address_with_sni_and_verified_certificate(
    tls_receiver, name_resolves_to_loopback, monkeypatch
):
    port, cert, seen = tls_receiver
    monkeypatch.setenv("SSL_CERT_FILE", cert)  # trust the test's own CA, as the system store would a real one
    result = Sender(LOOPBACK_ALLOWED).post(
        f"https://{HOST}:{port}/in?x=1", b'{"a":1}', {"Content-Type": "application/json"}
    )
    assert result.ok, result.describe()
    assert seen == [(HOST, f"{HOST}:{port}", b'{"a":1}')]


def test_a_certificate_for_another_name_is_refused(tls_receiver, name_resolves_to_loopback, monkeypatch):
    port, cert, seen = tls_receiver
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    result = Sender(LOOPBACK_ALLOWED).post(f"https://other.example.test:{port}/in", b"{}", {})
    assert not result.ok and "Hostname mismatch" in (result.error or "")
    assert seen == []


def test_an_untrusted_certificate_is_refused(tls_receiver, name_resolves_to_loopback):
    port, _, seen = tls_receiver
    result = Sender(LOOPBACK_ALLOWED).post(f"https://{HOST}:{port}/in", b"{}", {})
    assert not result.ok and "certificate" in (result.error or "").lower()
    assert seen == []
