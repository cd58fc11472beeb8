"""Receivers that misbehave on purpose. Each attempt ends within its deadline as a counted failure
(or a success, for a 2xx whatever else it says), and never costs another developer's post."""

import ipaddress
import json
import socket
import time

import pytest

from events_core.config import Settings
from events_core.delivery.sender import Sender
from tests.hostile import Hostile, StalledTls, answer, drip, firehose, hang

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)
DEADLINE = 1.5
FAST = Settings(allow_http_urls=True, allowed_private_networks=LOOPBACK, total_timeout=DEADLINE, connect_timeout=1)


@pytest.fixture
def hostile():
    with Hostile() as server:
        yield server


def timed_post(url: str, settings: Settings = FAST, **kwargs):
    started = time.monotonic()
    result = Sender(settings).post(url, b'{"a":1}', {"Content-Type": "application/json"}, **kwargs)
    return result, time.monotonic() - started


@pytest.mark.parametrize(
    "behaviour",
    [
        drip(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100 + b"\r\n\r\n", every=0.2),  # the status, then headers drip
        drip(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100, every=0.05),  # the body drips
        hang,
    ],
    ids=["drip-headers", "drip-body", "hang"],
)
def test_a_slow_receiver_is_cut_off_at_the_deadline(hostile, behaviour):
    hostile.behaviours["/slow"] = behaviour
    result, took = timed_post(hostile.url("/slow"))
    assert not result.ok and result.error.startswith("timeout")
    assert DEADLINE - 0.1 <= took < DEADLINE + 0.5


def test_the_deadline_covers_a_stalled_tls_handshake(monkeypatch):
    stalled = StalledTls()
    real = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: real("127.0.0.1" if host.endswith(".test") else host, port, *a, **k),
    )
    try:
        result, took = timed_post(f"https://hooks.example.test:{stalled.port}/in")
    finally:
        stalled.close()
    assert not result.ok and result.error.startswith("timeout")
    assert took < DEADLINE + 0.5


def test_the_deadline_covers_name_resolution(monkeypatch):
    real = socket.getaddrinfo

    def slow_dns(host, port, *args, **kwargs):
        if host == "slow.example.test":
            time.sleep(5)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_dns)
    result, took = timed_post("http://slow.example.test/in")
    assert not result.ok and "timeout" in result.error and took < DEADLINE + 0.5


def test_the_invocation_time_left_bounds_the_deadline_too(hostile):
    hostile.behaviours["/slow"] = hang
    result, took = timed_post(hostile.url("/slow"), deadline_seconds=0.5)
    assert not result.ok and took < 1.0


def test_a_receiver_that_talks_too_much_is_read_only_to_the_cap(hostile):
    hostile.behaviours["/loud"] = firehose
    result, took = timed_post(hostile.url("/loud"))
    assert result.ok and len(result.excerpt) == FAST.response_cap_bytes and took < DEADLINE


def test_a_kept_alive_connection_the_receiver_closed_is_retried_on_a_fresh_one(hostile):
    # Closes after every answer without saying so: the next post finds a dead pooled connection.
    hostile.behaviours["/closer"] = answer(200, close=True)
    sender = Sender(FAST)
    results = [sender.post(hostile.url("/closer"), b"{}", {}) for _ in range(6)]
    assert all(result.ok for result in results), [r.describe() for r in results]
    assert len(hostile.at("/closer")) == 6


def test_kept_alive_connections_are_reused(hostile):
    sender = Sender(FAST)
    for _ in range(3):
        assert sender.post(hostile.url("/fine"), b"{}", {}).ok
    assert hostile.connections == 1


@pytest.mark.parametrize("value", ["²", "9" * 400, "-1", "Tue, 99 Foo", "1e9", "\u0661\u0662"])
def test_odd_retry_after_headers_never_break_an_attempt(hostile, value):
    hostile.behaviours["/ok"] = answer(200, headers={"Retry-After": value})
    hostile.behaviours["/busy"] = answer(503, headers={"Retry-After": value})
    assert timed_post(hostile.url("/ok"))[0].ok
    busy, _ = timed_post(hostile.url("/busy"))
    assert busy.status == 503 and busy.retry_after is None


def test_garbage_instead_of_http_is_a_failed_attempt(hostile):
    hostile.behaviours["/garbage"] = drip(b"SSH-2.0-OpenSSH\r\n\x00\xff\r\n\r\n", every=0)
    result, _ = timed_post(hostile.url("/garbage"))
    assert not result.ok and result.error


def test_when_one_address_does_not_answer_the_next_is_tried(hostile, monkeypatch):
    real = socket.getaddrinfo

    def two_addresses(host, port, *args, **kwargs):
        if host == "two.example.test":
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.3", port)),  # nothing listens there
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", two_addresses)
    result, _ = timed_post(f"http://two.example.test:{hostile.port}/in")
    assert result.ok and len(hostile.at("/in")) == 1


# -- in the pipeline: one receiver's misbehaviour costs nobody else


def test_a_dripping_receiver_is_counted_and_never_delays_another_developer(make_pipeline, receiver, hostile):
    pipeline = make_pipeline(DeliveryTotalTimeout="1.5", RetrySchedule="3600")
    hostile.behaviours["/drip"] = drip(b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 100, every=0.1)
    slow = pipeline.webhook(pipeline.stack.key("mallory"), hostile.url("/drip"))
    pipeline.webhook(pipeline.stack.key("alice"), receiver.url("/alice"))
    pipeline.publish("mallory", "tool.executed", {"n": 1})
    pipeline.publish("alice", "tool.executed", {"n": 2})
    pipeline.source("FanoutFunction").poll_once()
    started = time.monotonic()
    pipeline.source("DeliverFunction").poll_once()  # both posts in one batch, concurrently
    took = time.monotonic() - started
    assert len(receiver.at("/alice")) == 1
    assert took < 1.5 + 1.0, "the batch ends with the deadline, not with the receiver"
    [attempt] = pipeline.attempts(slow["id"])
    assert attempt["error"].startswith("timeout") and int(attempt["latencyMs"]) < 2500
    assert pipeline.listed(pipeline.stack.key("mallory"))[slow["id"]]["failCount"] == 1
    [record] = pipeline.records(slow["id"])
    assert record["status"] == "retrying" and record["nextAttemptAt"]


def test_a_receivers_odd_retry_after_on_a_200_is_a_success(pipeline, hostile):
    hostile.behaviours["/ok"] = answer(200, headers={"Retry-After": "²"})
    hook = pipeline.webhook(pipeline.stack.key(), hostile.url("/ok"))
    pipeline.publish("user_123", "tool.executed", {"n": 1})
    pipeline.pump()
    [record] = pipeline.records(hook["id"])
    assert record["status"] == "succeeded" and len(hostile.at("/ok")) == 1


def test_the_answer_excerpt_is_kept_as_text(pipeline, hostile):
    hostile.behaviours["/explain"] = answer(500, body="upstream exploded: <b>ünïcode</b>".encode() + b"\xff" * 3)
    hook = pipeline.webhook(pipeline.stack.key(), hostile.url("/explain"))
    pipeline.publish("user_123", "tool.executed", {"n": 1})
    pipeline.source("FanoutFunction").poll_once()
    pipeline.source("DeliverFunction").poll_once()
    [attempt] = pipeline.attempts(hook["id"])
    assert attempt["excerpt"].startswith("upstream exploded: <b>ünïcode</b>") and int(attempt["status"]) == 500
    assert json.loads(pipeline.records(hook["id"])[0]["payload"])["data"] == {"n": 1}
