"""The developers' client (clients/eventsapi_client): a method for every developer operation of
openapi.yaml, typed errors, a bounded 429 retry, cursor paging, the CLI's URL/key rule, and a
receiver's `verify` for the reference header, Standard Webhooks and v1a."""

import base64
import copy
import json
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from events_core.delivery.signing import delivery_headers
from eventsapi import endpoints
from eventsapi.harness import contract
from eventsapi_client import (
    BadRequest,
    Client,
    NoAnswer,
    NoApiKey,
    NotFound,
    Throttled,
    Unavailable,
    ed25519,
    operations,
    settings,
    verify,
)
from tests.unit.test_operation_audience import operations as documented

BODY = b'{"event":"tool.executed","timestamp":"2026-04-12T08:00:00.000Z","data":{"toolName":"x"}}'


def developer_operations(document: dict) -> set[str]:
    return {
        operation["operationId"]
        for where, operation in documented(document)
        if where.startswith("paths") and operation["x-audience"] == "developer"
    }


def missing_from_client(document: dict) -> set[str]:
    return developer_operations(document) - set(operations())


# -- coverage against openapi.yaml --------------------------------------------------------------


def test_every_developer_operation_has_a_client_method():
    assert missing_from_client(contract.document()) == set()


def test_a_developer_operation_without_a_method_is_found():
    document = copy.deepcopy(contract.document())
    document["paths"]["/v1/events/types"]["get"]["operationId"] = "listEventTypesTwice"
    assert missing_from_client(document) == {"listEventTypesTwice"}


def test_every_client_method_calls_a_documented_developer_operation():
    assert set(operations()) <= developer_operations(contract.document())


# -- where the API is ---------------------------------------------------------------------------


def test_the_url_and_key_follow_the_clis_rule(monkeypatch):
    monkeypatch.delenv(settings.API_URL_ENV, raising=False)
    monkeypatch.delenv(settings.API_KEY_ENV, raising=False)
    assert settings.API_URL_ENV == endpoints.API_URL_ENV
    assert settings.api_url() == endpoints.api_url() == endpoints.DEFAULT_API_URL
    with pytest.raises(NoApiKey, match="EVENTS_API_KEY"):
        Client()
    monkeypatch.setenv(settings.API_URL_ENV, "http://127.0.0.1:3999/")
    monkeypatch.setenv(settings.API_KEY_ENV, "from-env")
    client = Client()
    assert (client.api_url, client.api_key) == ("http://127.0.0.1:3999", "from-env")
    flagged = Client("https://api.example.org", "from-flag")
    assert (flagged.api_url, flagged.api_key) == ("https://api.example.org", "from-flag")
    with pytest.raises(ValueError, match="http"):
        Client("file:///etc/passwd", "k")


# -- transport against a scripted server --------------------------------------------------------


class Script:
    """Answers in order: (status, headers, body); records each request's method, path, key and body."""

    def __init__(self, *answers: tuple[int, dict, object]) -> None:
        self.answers = list(answers)
        self.seen: list[tuple[str, str, str | None, object]] = []


@pytest.fixture
def scripted() -> Iterator:
    servers = []

    def start(*answers: tuple[int, dict, object]) -> tuple[Client, Script]:
        script = Script(*answers)

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                script.seen.append((self.command, self.path, self.headers.get("X-API-Key"), json.loads(raw or "null")))
                status, headers, body = script.answers.pop(0)
                payload = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, *_: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        waits: list[float] = []
        client = Client(f"http://127.0.0.1:{server.server_address[1]}", "claw_test", sleep=waits.append)
        client.waits = waits  # type: ignore[attr-defined]
        return client, script

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def error(code: str, message: str, **more: str) -> dict:
    return {"error": {"code": code, "message": message, **more}}


def test_an_error_is_typed_with_the_apis_status_code_and_message(scripted):
    client, script = scripted(
        (404, {}, error("not_found", "webhook 'w1' not found")),
        (400, {}, error("bad_request", "url: must be https", field="url")),
        (503, {}, error("unavailable", "try again")),
    )
    with pytest.raises(NotFound) as missing:
        client.get_webhook("w1")
    found = missing.value
    assert (found.status, found.code, str(found)) == (404, "not_found", "webhook 'w1' not found")
    with pytest.raises(BadRequest) as bad:
        client.create_webhook("tool.executed", "http://x")
    assert bad.value.field == "url"
    with pytest.raises(Unavailable):
        client.event_types()
    assert script.seen[0][:3] == ("GET", "/v1/events/webhooks/w1", "claw_test")


def test_a_429_is_waited_out_through_retry_after_a_bounded_number_of_times(scripted):
    throttled = (429, {"Retry-After": "1"}, error("throttled", "slow down"))
    client, script = scripted(throttled, throttled, (200, {}, {"eventTypes": ["tool.executed"]}))
    assert client.event_types() == ["tool.executed"]
    assert client.waits == [1.0, 1.0]  # type: ignore[attr-defined]

    client, script = scripted(throttled, throttled, throttled, (200, {}, {"eventTypes": []}))
    with pytest.raises(Throttled) as gave_up:
        client.event_types()
    assert gave_up.value.retry_after == 1.0 and len(script.seen) == 3  # 1 + max_retries, then it stops


def test_a_retry_after_longer_than_the_bound_is_raised_at_once(scripted):
    client, script = scripted((429, {"Retry-After": "3600"}, error("budget_exceeded", "the post budget is spent")))
    with pytest.raises(Throttled) as spent:
        client.test_webhook("w1")
    assert spent.value.code == "budget_exceeded" and spent.value.retry_after == 3600.0
    assert client.waits == [] and len(script.seen) == 1  # type: ignore[attr-defined]


def test_cursor_pages_are_one_iterator(scripted):
    client, script = scripted(
        (200, {}, {"deliveries": [{"deliveryId": "a"}, {"deliveryId": "b"}], "nextCursor": "c1"}),
        (200, {}, {"deliveries": [{"deliveryId": "c"}], "nextCursor": None}),
    )
    assert [d["deliveryId"] for d in client.deliveries("w1", status="dead")] == ["a", "b", "c"]
    assert script.seen[0][1] == "/v1/events/webhooks/w1/deliveries?status=dead"
    assert script.seen[1][1] == "/v1/events/webhooks/w1/deliveries?status=dead&cursor=c1"


def test_recover_follows_the_cursor_to_the_windows_end(scripted):
    window = {"since": "2026-04-12T08:00:00.000Z", "until": "2026-04-12T09:00:00.000Z"}
    client, script = scripted(
        (202, {}, {"queued": 1000, "nextCursor": "k", "window": window}),
        (202, {}, {"queued": 3, "notQueued": 1, "nextCursor": None, "window": window}),
    )
    assert client.recover("w1", window["since"]) == {"queued": 1003, "notQueued": 1, "window": window}
    assert script.seen[1][3] == {"since": window["since"], "cursor": "k"}


def test_ids_are_one_path_segment(scripted):
    client, script = scripted((200, {}, {"id": "x"}))
    client.get_webhook("../types")
    assert script.seen[0][1] == "/v1/events/webhooks/..%2Ftypes"


def test_no_answer_is_its_own_error():
    with pytest.raises(NoAnswer, match=r"no answer from http://127\.0\.0\.1:9"):
        Client("http://127.0.0.1:9", "k", timeout=2).event_types()


# -- verify -------------------------------------------------------------------------------------


def signed(*secrets: str, now: datetime | None = None) -> dict[str, str]:
    return delivery_headers(
        event="tool.executed",
        timestamp="2026-04-12T08:00:00.000Z",
        delivery_id="msg_0123",
        body=BODY,
        secrets=secrets,
        now=now,
    )


def test_the_reference_header_verifies_with_the_secret_and_nothing_else():
    headers = signed("s3cret")
    assert verify(BODY, headers, "s3cret")
    assert verify(BODY, headers, b"s3cret")  # the secret's bytes work as well as its text
    assert not verify(BODY, headers, "wrong")
    assert not verify(BODY + b" ", headers, "s3cret")
    reference_only = {"X-Webhook-Signature": headers["X-Webhook-Signature"]}
    assert verify(BODY, reference_only, "s3cret", now=0)  # the reference's header carries no timestamp


def test_during_a_rotation_either_secret_verifies():
    headers = signed("new-secret", "old-secret")
    assert verify(BODY, headers, "new-secret")
    assert verify(BODY, headers, "old-secret")
    assert verify(BODY, headers, ["gone", "old-secret"])


def test_standard_webhooks_verifies_with_the_whsec_form_and_refuses_a_stale_timestamp():
    headers = {k: v for k, v in signed("s3cret").items() if not k.startswith("X-")}
    whsec = "whsec_" + base64.b64encode(b"s3cret").decode()
    assert verify(BODY, headers, whsec)
    assert verify(BODY, {k.upper(): v for k, v in headers.items()}, "s3cret")  # header names in any case
    an_hour_ago = {k: v for k, v in signed("s3cret", now=datetime.fromtimestamp(time.time() - 3600, UTC)).items()}
    stale = {k: v for k, v in an_hour_ago.items() if not k.startswith("X-")}
    assert not verify(BODY, stale, "s3cret")
    assert verify(BODY, stale, "s3cret", tolerance=None)


def v1a_headers(private: Ed25519PrivateKey, body: bytes = BODY) -> dict[str, str]:
    stamp = str(int(time.time()))
    signature = private.sign(f"msg_0123.{stamp}.".encode() + body)
    return {
        "webhook-id": "msg_0123",
        "webhook-timestamp": stamp,
        "webhook-signature": "v1,bm90IHRoaXM= v1a," + base64.b64encode(signature).decode(),
    }


def public_entry(private: Ed25519PrivateKey) -> dict:
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kid": "k1", "alg": "Ed25519", "publicKey": base64.b64encode(raw).decode()}


def test_v1a_verifies_with_any_listed_key():
    signer, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    headers = v1a_headers(signer)
    assert verify(BODY, headers, [public_entry(other), public_entry(signer)])
    assert not verify(BODY, headers, [public_entry(other)])
    assert not verify(BODY + b"x", headers, [public_entry(signer)])


def test_the_pure_python_ed25519_agrees_with_cryptography():
    signer = Ed25519PrivateKey.generate()
    public = signer.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    signature = signer.sign(b"message")
    assert ed25519._pure_verify(public, b"message", signature)
    assert not ed25519._pure_verify(public, b"messagf", signature)
    assert not ed25519._pure_verify(public, b"message", signature[:32] + bytes(32))
    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert not ed25519._pure_verify(other, b"message", signature)


# -- the wheel ----------------------------------------------------------------------------------


def test_the_wheel_needs_nothing_but_the_standard_library(tmp_path):
    root = Path(__file__).resolve().parents[2]
    source = tmp_path / "src"
    shutil.copytree(root / "clients/eventsapi_client", source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path),
         str(source)],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    [wheel] = tmp_path.glob("eventsapi_client-*.whl")
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(wheel).extractall(unpacked)
    signer = Ed25519PrivateKey.generate()
    headers = v1a_headers(signer)
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]);"
        "import eventsapi_client, eventsapi_client.mcp_tools;"
        "from eventsapi_client import verify;"
        "print(verify(sys.argv[2].encode(), json.loads(sys.argv[3]), [json.loads(sys.argv[4])]))"
    )
    # -S -I: no site-packages at all, so a third-party import (cryptography included) would fail
    checked = subprocess.run(
        [sys.executable, "-S", "-I", "-c", script, str(unpacked), BODY.decode(), json.dumps(headers),
         json.dumps(public_entry(signer))],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (checked.returncode, checked.stdout.strip()) == (0, "True"), checked.stderr
