"""Signed delivery, end to end on moto with real HTTP to a receiver on 127.0.0.1: bus → rule →
events queue → fan-out → delivery queue → POST."""

import base64
import dataclasses
import json
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from events_core.delivery import queues
from tests.reference.verify import verify

SECRET = "my-webhook-secret"
VERIFY_JS = Path(__file__).resolve().parents[1] / "reference" / "verify.js"
TOOL_DATA = {
    "toolName": "erp_get_inventory",
    "input": {"warehouse_id": "WH-001"},
    "result": {"items": [], "total": 42},
    "elapsed_ms": 230,
}


def test_one_signed_post_in_the_reference_format(pipeline, receiver):
    key = pipeline.stack.key()
    pipeline.webhook(key, receiver.url("/hook"), secret=SECRET)
    pipeline.publish("user_123", "tool.executed", TOOL_DATA, timestamp="2026-04-12T08:00:00.000Z")
    pipeline.pump()

    [post] = receiver.at("/hook")
    assert json.loads(post.body) == {
        "event": "tool.executed",
        "timestamp": "2026-04-12T08:00:00.000Z",
        "data": TOOL_DATA,
    }
    assert list(json.loads(post.body)) == ["event", "timestamp", "data"]
    assert post.headers["Content-Type"] == "application/json"
    assert post.headers["X-Webhook-Event"] == "tool.executed"
    assert post.headers["X-Webhook-Timestamp"] == "2026-04-12T08:00:00.000Z"
    assert verify(post.body, post.headers["X-Webhook-Signature"], SECRET)
    assert not verify(post.body + b" ", post.headers["X-Webhook-Signature"], SECRET)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_reference_javascript_verify_accepts_it(pipeline, receiver):
    pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"), secret=SECRET)
    pipeline.publish("user_123", "tool.executed", {**TOOL_DATA, "note": "中文 ✓"})
    pipeline.pump()
    [post] = receiver.at("/hook")

    def node_verify(body: bytes, signature: str) -> str:
        done = subprocess.run(
            ["node", str(VERIFY_JS), SECRET, signature], input=body, capture_output=True, check=True, timeout=30
        )
        return done.stdout.decode().strip()

    assert node_verify(post.body, post.headers["X-Webhook-Signature"]) == "true"
    assert node_verify(post.body.replace(b"42", b"43"), post.headers["X-Webhook-Signature"]) == "false"


def test_standard_webhooks_headers_verify_with_the_library(pipeline, receiver):
    pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"), secret=SECRET)
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    [post] = receiver.at("/hook")
    receiver_secret = "whsec_" + base64.b64encode(SECRET.encode()).decode()
    assert Webhook(receiver_secret).verify(post.body, post.headers) == json.loads(post.body)
    assert post.headers["webhook-id"] == post.headers["X-Webhook-Id"]
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(receiver_secret).verify(post.body.replace(b"230", b"231"), post.headers)


def test_no_signature_headers_without_a_secret(pipeline, receiver):
    pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    [post] = receiver.at("/hook")
    lowered = {name.lower() for name in post.headers}
    assert "x-webhook-signature" not in lowered and "webhook-signature" not in lowered
    assert post.headers["X-Webhook-Id"].startswith("msg_")


def test_a_developers_event_never_reaches_another_developer(pipeline, receiver):
    pipeline.webhook(pipeline.stack.key("alice"), receiver.url("/alice"))
    pipeline.webhook(pipeline.stack.key("bob"), receiver.url("/bob"))
    pipeline.publish("alice", "tool.executed", {"who": "alice"})
    pipeline.pump()
    assert [json.loads(p.body)["data"] for p in receiver.at("/alice")] == [{"who": "alice"}]
    assert receiver.at("/bob") == []


def test_only_the_subscribed_event_type_is_delivered(pipeline, receiver):
    key = pipeline.stack.key()
    pipeline.webhook(key, receiver.url("/failed"), event="tool.failed")
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    assert receiver.received == []


def test_filters_select_exactly_the_matching_events(pipeline, receiver):
    key = pipeline.stack.key()
    pipeline.webhook(key, receiver.url("/big"), filter={"result.total": [{"numeric": [">", 40]}]})
    pipeline.webhook(key, receiver.url("/wh"), filter={"input.warehouse_id": [{"prefix": "WH-"}], "toolName": "a"})
    pipeline.webhook(key, receiver.url("/all"))
    for total, tool in ((42, "a"), (7, "a"), (99, "b")):
        pipeline.publish(
            "user_123",
            "tool.executed",
            {"toolName": tool, "input": {"warehouse_id": "WH-1"}, "result": {"total": total}},
        )
    pipeline.pump()
    totals = {
        path: sorted(json.loads(p.body)["data"]["result"]["total"] for p in receiver.at(path))
        for path in ("/big", "/wh", "/all")
    }
    assert totals == {"/big": [42, 99], "/wh": [7, 42], "/all": [7, 42, 99]}


def test_a_failing_subscriber_does_not_delay_or_duplicate_a_healthy_one(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="0,0,0")
    key = pipeline.stack.key()
    pipeline.webhook(key, receiver.behave("/broken", status=500))
    pipeline.webhook(key, receiver.url("/healthy"))
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    assert len(receiver.at("/healthy")) == 1
    assert len(receiver.at("/broken")) == 4


def test_retries_then_the_dead_letter_queue_with_nothing_lost(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="0,0,0,0")
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.behave("/down", status=503))
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()

    posts = receiver.at("/down")
    assert len(posts) == 5
    assert len({p.headers["X-Webhook-Id"] for p in posts}) == 1, "the delivery id is stable across retries"
    [dead] = pipeline.dead_letters("DeliveryDeadLetterQueue")
    assert dead["reason"] == "HTTP 503 after 5 attempts"
    assert dead["attempts"] == "5" and dead["webhookId"] == hook["id"]
    assert json.loads(json.loads(dead["body"])["payload"])["data"] == TOOL_DATA
    assert "secret" not in dead["body"]
    state = pipeline.listed(key)[hook["id"]]
    assert state["failCount"] == 5 and state["lastTriggered"] is not None and state["enabled"] is True
    [record] = pipeline.records(hook["id"])
    assert (record["status"], int(record["attempt"]), record["lastError"]) == ("dead", 5, "HTTP 503 after 5 attempts")
    assert [int(a["attempt"]) for a in record["attempts"]] == [1, 2, 3, 4, 5]
    assert {int(a["status"]) for a in record["attempts"]} == {503}
    assert [a["trigger"] for a in record["attempts"]] == ["first"] + ["retry"] * 4
    assert record["payload"] == posts[0].body.decode()


def test_a_success_resets_the_failure_count(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="0,0")
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.behave("/flaky", status=500))
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    assert pipeline.listed(key)[hook["id"]]["failCount"] == 3
    receiver.behave("/flaky", status=204)
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    assert pipeline.listed(key)[hook["id"]]["failCount"] == 0


def test_retry_after_is_honoured(make_pipeline, receiver, monkeypatch):
    pipeline = make_pipeline(RetrySchedule="0,0")
    delays = []
    real = queues.send_all

    def record_delays(url, messages, client=None):
        delays.extend(m.delay for m in messages if m.delay)
        return real(url, [dataclasses.replace(m, delay=0) for m in messages], client)

    monkeypatch.setattr(queues, "send_all", record_delays)
    pipeline.webhook(pipeline.stack.key(), receiver.behave("/busy", status=429, headers={"Retry-After": "120"}))
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    assert delays == [120, 120]


def test_410_disables_at_once_and_alerts_the_developer(pipeline, receiver):
    key = pipeline.stack.key()
    gone = pipeline.webhook(key, receiver.behave("/gone", status=410))
    pipeline.webhook(key, receiver.url("/alerts"), event="alert.triggered")
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()

    assert len(receiver.at("/gone")) == 1
    assert pipeline.listed(key)[gone["id"]]["enabled"] is False
    [alert] = receiver.at("/alerts")
    data = json.loads(alert.body)["data"]
    assert data["alertType"] == "webhook.disabled" and data["webhookId"] == gone["id"]
    assert {"alertType", "source", "message", "severity"} <= set(data)
    # The alert names the host, never the whole URL (URLs carry tokens; alerts reach third parties).
    assert data["host"] == f"127.0.0.1:{receiver.port}" and "/gone" not in alert.body.decode()
    assert pipeline.listed(key)[gone["id"]]["disabledReason"] == "gone"
    [dead] = pipeline.dead_letters("DeliveryDeadLetterQueue")
    assert dead["reason"] == "HTTP 410; webhook disabled: the receiver answered 410 Gone"
    # And a disabled webhook gets nothing more.
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    assert len(receiver.at("/gone")) == 1


def test_repeated_failure_past_the_threshold_opens_the_circuit_and_alerts_once(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="0,0,0,0,0", FailureThreshold="3")
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.behave("/down", status=500))
    pipeline.webhook(key, receiver.url("/alerts"), event="alert.triggered")
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    assert len(receiver.at("/down")) == 3  # then held: the next post is a probe, a minute later
    listed = pipeline.listed(key)[hook["id"]]
    assert listed["enabled"] is True and listed["circuit"]["state"] == "open"
    [alert] = receiver.at("/alerts")
    assert json.loads(alert.body)["data"]["alertType"] == "webhook.circuit_opened"
    assert pipeline.dead_letters("DeliveryDeadLetterQueue") == []
    [record] = pipeline.records(hook["id"])
    assert record["status"] == "held"


def test_deleting_a_webhook_stops_deliveries_in_flight(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/hook"))
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.source("FanoutFunction").poll_once()  # the delivery message is queued...
    assert pipeline.stack.call("DELETE", f"/v1/events/webhooks/{hook['id']}", key=key).status == 200
    pipeline.pump()
    assert receiver.received == []
    assert pipeline.dead_letters("DeliveryDeadLetterQueue") == []


def test_redirects_are_not_followed(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="0")
    pipeline.webhook(
        pipeline.stack.key(), receiver.behave("/moved", status=302, headers={"Location": receiver.url("/target")})
    )
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    assert len(receiver.at("/moved")) == 2
    assert receiver.at("/target") == []
    [dead] = pipeline.dead_letters("DeliveryDeadLetterQueue")
    assert dead["reason"] == "HTTP 302 after 2 attempts"


def test_a_connection_reset_is_a_retried_failure(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="0")
    pipeline.webhook(pipeline.stack.key(), receiver.behave("/reset", reset=True))
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    assert len(receiver.at("/reset")) == 2
    [dead] = pipeline.dead_letters("DeliveryDeadLetterQueue")
    assert "after 2 attempts" in dead["reason"]


def test_the_fan_out_can_run_twice_without_a_second_post(pipeline, receiver):
    pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    fanout = pipeline.source("FanoutFunction")
    envelope = pipeline.sqs.receive_message(QueueUrl=fanout.queue_url)["Messages"][0]["Body"]
    pipeline.sqs.send_message(QueueUrl=fanout.queue_url, MessageBody=envelope)  # a re-run of the same event
    pipeline.pump()
    assert len(receiver.at("/hook")) == 1


@pytest.mark.parametrize(
    ("detail", "reason"),
    [
        ({"data": {}}, "developerId is missing"),
        ({"developerId": "user_123", "data": [1]}, "data is not an object"),
        ({"developerId": "user_123", "data": {}, "timestamp": "yesterday"}, "not ISO-8601"),
    ],
)
def test_bad_events_rest_in_the_events_dead_letter_queue_with_the_reason(pipeline, receiver, detail, reason):
    pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    # The rule admits them (right source and type); the fan-out refuses them.
    pipeline.put_detail("tool.executed", detail)
    pipeline.pump()
    assert receiver.received == []
    [dead] = pipeline.dead_letters("EventsDeadLetterQueue")
    assert reason in dead["reason"]


def test_an_unknown_type_put_straight_on_the_queue_is_dead_lettered(pipeline):
    queue = pipeline.physical("EventsQueue")
    pipeline.sqs.send_message(
        QueueUrl=queue,
        MessageBody=json.dumps(
            {
                "id": "x",
                "source": "cn.invoratec.platform",
                "detail-type": "workflow.started",
                "time": "2026-04-12T08:00:00Z",
                "detail": {"developerId": "user_123", "data": {}},
            }
        ),
    )
    pipeline.sqs.send_message(QueueUrl=queue, MessageBody="not json")
    pipeline.pump()
    reasons = sorted(d["reason"] for d in pipeline.dead_letters("EventsDeadLetterQueue"))
    assert reasons == [
        "invalid event: the event is not strict JSON: not a JSON object",
        "invalid event: unknown event type 'workflow.started'",
    ]


BLOCKED = [
    "10.0.0.5",
    "172.16.3.4",
    "192.168.1.1",
    "127.0.0.1",
    "169.254.169.254",
    "169.254.1.1",
    "100.64.1.1",
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "::1",
    "fe80::1",
    "fd12::1",
    "ff02::1",
    "::ffff:10.0.0.1",
]


@pytest.mark.parametrize("address", BLOCKED)
def test_a_host_name_resolving_to_a_blocked_address_is_refused(make_pipeline, receiver, monkeypatch, address):
    # Given production's guard (no allow-list), and a name that resolves to a blocked address
    pipeline = make_pipeline(AllowedPrivateNetworks="", RetrySchedule="0")
    hook = pipeline.webhook(pipeline.stack.key(), "http://hooks.example.com/in")
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host == "hooks.example.com":
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    attempts = pipeline.attempts(hook["id"])
    assert len(attempts) == 2 and all(a["error"].startswith(f"blocked: {address} is a") for a in attempts)
    [dead] = pipeline.dead_letters("DeliveryDeadLetterQueue")
    assert "blocked" in dead["reason"]


def test_loopback_is_refused_without_the_allow_list_even_when_a_receiver_listens(make_pipeline, receiver, monkeypatch):
    pipeline = make_pipeline(AllowedPrivateNetworks="", RetrySchedule="0")
    real = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: real("127.0.0.1" if host == "rebind.example.com" else host, port, *a, **k),
    )
    pipeline.webhook(pipeline.stack.key(), f"http://rebind.example.com:{receiver.port}/hook")
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    assert receiver.received == []
