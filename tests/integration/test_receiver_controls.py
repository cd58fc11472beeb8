"""Receivers in control (issue 21), end to end on moto with real HTTP to receivers on 127.0.0.1:
a rate limit per webhook, a circuit breaker, custom headers."""

import json
import threading
import time
from collections.abc import Callable

from eventsapi.harness.receiver import Behaviour

TOOL_DATA = {"toolName": "erp_get_inventory", "input": {}, "result": {"total": 42}, "elapsed_ms": 230}


def drain(pipeline, done: Callable[[], bool], timeout: float = 60.0) -> None:
    """Pump until `done` (delayed messages come back on their own time)."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError("the pipeline did not get there in time")
        pipeline.pump()
        time.sleep(0.1)
    pipeline.pump()


class Switch:
    """A receiver path that is down (500) until healed, remembering when each post arrived."""

    def __init__(self, status: int = 500):
        self.status = status
        self.times: list[float] = []
        self.lock = threading.Lock()

    def __call__(self) -> Behaviour:
        with self.lock:
            self.times.append(time.monotonic())
            return Behaviour(status=self.status)


def test_a_webhook_limited_to_2_a_second_gets_a_burst_of_20_at_that_rate_none_failed(pipeline, receiver):
    key = pipeline.stack.key()
    clock = Switch(status=200)
    hook = pipeline.webhook(key, receiver.behave("/limited", clock), rateLimit={"count": 2, "periodSeconds": 1})
    assert hook["rateLimit"] == {"count": 2, "periodSeconds": 1}
    for n in range(20):
        pipeline.publish("user_123", "tool.executed", {**TOOL_DATA, "n": n})
    while pipeline.source("FanoutFunction").poll_once():
        pass
    pipeline.source("DeliverFunction").poll_once()
    listed = pipeline.stack.call("GET", f"/v1/events/webhooks/{hook['id']}", key=key).json
    # A queue of slots formed. How far ahead it still reaches when read depends on how long the
    # poll took (it waits in-process for the near slots, longer under load): no bound on it here.
    assert listed["throttle"]["lagSeconds"] > 0
    throttled = pipeline.stack.call(
        "GET", f"/v1/events/webhooks/{hook['id']}/deliveries?status=throttled", key=key
    ).json["deliveries"]
    assert throttled and all(d["attemptCount"] == 0 for d in throttled)
    drain(pipeline, lambda: len(receiver.at("/limited")) >= 20, timeout=60)

    posts = receiver.at("/limited")
    assert sorted(json.loads(p.body)["data"]["n"] for p in posts) == list(range(20))  # all of them, once
    times = sorted(clock.times)
    # The promise: any window of periodSeconds holds at most count + 1 = 3 posts at the receiver.
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 3, f"posts at {[round(t - times[0], 3) for t in times]} s"
    records = pipeline.records(hook["id"])
    assert {r["status"] for r in records} == {"succeeded"}
    assert all(len(r["attempts"]) == 1 for r in records)  # waiting was never an attempt
    assert pipeline.listed(key)[hook["id"]]["failCount"] == 0
    assert pipeline.dead_letters("DeliveryDeadLetterQueue") == []


def test_a_receiver_down_sees_one_probe_at_a_time_then_the_held_deliveries_oldest_first(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="0,0,0,0,0", FailureThreshold="3", CircuitProbeSeconds="1")
    key = pipeline.stack.key()
    down = Switch()
    # Released at its rate limit, oldest first (and the probes take slots too).
    hook = pipeline.webhook(key, receiver.behave("/down", down), rateLimit={"count": 2, "periodSeconds": 1})
    pipeline.webhook(key, receiver.url("/alerts"), event="alert.triggered")
    pipeline.publish("user_123", "tool.executed", {**TOOL_DATA, "n": 0})
    pipeline.pump()
    assert len(receiver.at("/down")) == 3  # three failures in a row open the circuit
    circuit = pipeline.stack.call("GET", f"/v1/events/webhooks/{hook['id']}", key=key).json["circuit"]
    assert circuit["state"] == "open" and circuit["since"] and circuit["nextProbeAt"]
    [alert] = receiver.at("/alerts")
    data = json.loads(alert.body)["data"]
    assert data["alertType"] == "webhook.circuit_opened"
    assert "failed 3 times in a row" in data["message"]

    for n in (1, 3, 2, 5, 4):  # events' own times order them, not their arrival
        pipeline.publish("user_123", "tool.executed", {**TOOL_DATA, "n": n}, timestamp=f"2030-01-01T00:00:0{n}.000Z")
    pipeline.pump()
    # Held, not posted: whatever reached the receiver meanwhile was the probe (the first delivery).
    assert {json.loads(p.body)["data"]["n"] for p in receiver.at("/down")} == {0}
    held = pipeline.stack.call("GET", f"/v1/events/webhooks/{hook['id']}/deliveries?status=held", key=key).json
    assert len(held["deliveries"]) == 6
    assert sorted(d["attemptCount"] for d in held["deliveries"])[:5] == [0, 0, 0, 0, 0]

    drain(pipeline, lambda: len(receiver.at("/down")) >= 5, timeout=20)  # probes, one a second
    gaps = [b - a for a, b in zip(down.times[3:], down.times[4:], strict=False)]
    assert all(gap >= 0.9 for gap in gaps)  # one probe at a time
    probes = [json.loads(p.body)["data"]["n"] for p in receiver.at("/down")[3:]]
    assert set(probes) == {0}  # the delivery that opened the circuit is the probe
    assert pipeline.listed(key)[hook["id"]]["enabled"] is True

    down.status = 200  # healed
    drain(pipeline, lambda: len([p for p in receiver.at("/down") if p.accepted]) >= 6, timeout=20)
    delivered = [json.loads(p.body)["data"]["n"] for p in receiver.at("/down") if p.accepted]
    assert sorted(delivered) == list(range(6))
    assert delivered[0] == 0 and delivered[1:] == sorted(delivered[1:])  # the probe, then oldest first
    answer = pipeline.stack.call("GET", f"/v1/events/webhooks/{hook['id']}", key=key).json
    assert answer["circuit"] == {"state": "closed", "since": None, "nextProbeAt": None}
    assert answer["failCount"] == 0
    records = pipeline.records(hook["id"])
    assert {r["status"] for r in records} == {"succeeded"}
    # Held deliveries spent no attempt: each released one was posted once.
    assert sorted(len(r["attempts"]) for r in records)[:5] == [1, 1, 1, 1, 1]
    assert pipeline.dead_letters("DeliveryDeadLetterQueue") == []
    assert len(receiver.at("/alerts")) == 1


def deliver_newest_first(pipeline) -> int:
    """One delivery invocation per visible message of the delivery queue, the newest delivery first:
    a queue (and invocations) free to hand messages out in any order. Returns how many."""
    from eventsapi.local.sqs_source import _record

    source = pipeline.source("DeliverFunction")
    messages = []
    while batch := pipeline.sqs.receive_message(QueueUrl=source.queue_url, MaxNumberOfMessages=10).get("Messages"):
        messages += batch
    for message in sorted(messages, key=lambda m: json.loads(m["Body"])["delivery_id"], reverse=True):
        answer = source.function.invoke({"Records": [_record(message, source.queue_arn, source.region)]})
        if not answer["batchItemFailures"]:
            pipeline.sqs.delete_message(QueueUrl=source.queue_url, ReceiptHandle=message["ReceiptHandle"])
    return len(messages)


def test_held_deliveries_reach_a_healed_receiver_oldest_first_whatever_order_the_queue_hands_them_out(
    make_pipeline, receiver
):
    pipeline = make_pipeline(RetrySchedule="0,0,0,0,0", FailureThreshold="1", CircuitProbeSeconds="1")
    key = pipeline.stack.key()
    down = Switch()
    hook = pipeline.webhook(key, receiver.behave("/down", down))
    pipeline.publish("user_123", "tool.executed", {**TOOL_DATA, "n": 0})
    pipeline.pump()  # one failure opens the circuit; this delivery is the probe
    for n in range(1, 7):
        pipeline.publish("user_123", "tool.executed", {**TOOL_DATA, "n": n}, timestamp=f"2030-01-01T00:00:0{n}.000Z")
    pipeline.pump()
    held = pipeline.stack.call("GET", f"/v1/events/webhooks/{hook['id']}/deliveries?status=held", key=key).json
    assert len(held["deliveries"]) == 7  # the probe's delivery among them

    down.status = 200  # healed: the next probe closes the circuit and the catch-up begins
    deadline = time.monotonic() + 30
    while len([p for p in receiver.at("/down") if p.accepted]) < 7:
        assert time.monotonic() < deadline, [json.loads(p.body)["data"]["n"] for p in receiver.at("/down")]
        pipeline.source("FanoutFunction").poll_once()
        deliver_newest_first(pipeline)
        time.sleep(0.1)
    delivered = [json.loads(p.body)["data"]["n"] for p in receiver.at("/down") if p.accepted]
    assert delivered == [0, 1, 2, 3, 4, 5, 6]  # the probe, then the held ones oldest first
    assert {r["status"] for r in pipeline.records(hook["id"])} == {"succeeded"}
    answer = pipeline.stack.call("GET", f"/v1/events/webhooks/{hook['id']}", key=key).json
    assert answer["circuit"] == {"state": "closed", "since": None, "nextProbeAt": None}


def test_a_circuit_open_too_long_disables_the_webhook_and_its_held_deliveries_become_dead(make_pipeline, receiver):
    pipeline = make_pipeline(
        RetrySchedule="0,0,0,0,0", FailureThreshold="2", CircuitProbeSeconds="1", CircuitMaxOpenSeconds="1"
    )
    key = pipeline.stack.key()
    down = Switch()
    hook = pipeline.webhook(key, receiver.behave("/down", down))
    pipeline.webhook(key, receiver.url("/alerts"), event="alert.triggered")
    pipeline.publish("user_123", "tool.executed", {**TOOL_DATA, "n": 0})
    pipeline.pump()
    pipeline.publish("user_123", "tool.executed", {**TOOL_DATA, "n": 1})
    pipeline.pump()
    drain(pipeline, lambda: not pipeline.listed(key)[hook["id"]]["enabled"], timeout=20)
    webhook = pipeline.listed(key)[hook["id"]]
    assert webhook["disabledReason"] == "circuit"
    alerts = [json.loads(a.body)["data"] for a in receiver.at("/alerts")]
    assert [a["alertType"] for a in alerts] == ["webhook.circuit_opened", "webhook.disabled"]
    records = pipeline.records(hook["id"])
    assert [r["status"] for r in records] == ["dead", "dead"]
    assert len(pipeline.dead_letters("DeliveryDeadLetterQueue")) == 2
    # Recoverable once it is on again.
    down.status = 200
    enabled = pipeline.stack.call("PATCH", f"/v1/events/webhooks/{hook['id']}", key=key, body={"enabled": True})
    assert enabled.status == 200 and enabled.json["circuit"]["state"] == "closed"
    recovered = pipeline.stack.call(
        "POST", f"/v1/events/webhooks/{hook['id']}/recover", key=key, body={"since": "2020-01-01T00:00:00Z"}
    )
    assert recovered.json["queued"] == 2
    pipeline.pump()
    assert {r["status"] for r in pipeline.records(hook["id"])} == {"succeeded"}


def test_custom_headers_arrive_on_every_post_and_test_and_are_never_shown_back(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(
        key, receiver.url("/hdr"), secret="s3cret", headers={"X-Gateway-Key": "gw-token-1", "Authorization": "Bearer x"}
    )
    assert hook["headerNames"] == ["Authorization", "X-Gateway-Key"]
    assert "gw-token-1" not in json.dumps(pipeline.listed(key))
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    assert pipeline.stack.call("POST", f"/v1/events/webhooks/{hook['id']}/test", key=key, body={}).status == 200
    posts = receiver.at("/hdr")
    assert len(posts) == 2
    for post in posts:
        assert post.headers["X-Gateway-Key"] == "gw-token-1"
        assert post.headers["Authorization"] == "Bearer x"
        assert post.headers["X-Webhook-Signature"].startswith("sha256=")
    # Not in the queue either: only the worker opens them.
    stored = [item for item in pipeline.stack.items("WebhooksTable") if item.get("webhookId") == hook["id"]]
    assert "gw-token-1" not in json.dumps(stored, default=str)
    # PATCH replaces them; {} removes them.
    changed = pipeline.stack.call(
        "PATCH", f"/v1/events/webhooks/{hook['id']}", key=key, body={"headers": {"X-Other": "2"}}
    ).json
    assert changed["headerNames"] == ["X-Other"]
    cleared = pipeline.stack.call("PATCH", f"/v1/events/webhooks/{hook['id']}", key=key, body={"headers": {}}).json
    assert cleared["headerNames"] == []


def test_bad_controls_are_a_clear_400_changing_nothing(stack):
    key = stack.key()
    base = {"event": "tool.executed", "url": "https://example.com/hook"}
    cases = [
        ({"headers": {"X-Webhook-Event": "x"}}, "headers.X-Webhook-Event"),
        ({"headers": {"webhook-id": "x"}}, "headers.webhook-id"),
        ({"headers": {"Host": "evil"}}, "headers.Host"),
        ({"headers": {"Content-Length": "1"}}, "headers.Content-Length"),
        ({"headers": {"Transfer-Encoding": "chunked"}}, "headers.Transfer-Encoding"),
        ({"headers": {"X-A": "a\r\nX-B: b"}}, "headers.X-A"),
        ({"headers": {"X A": "a"}}, "headers.X A"),
        ({"headers": {"X-A": ""}}, "headers.X-A"),
        ({"headers": {f"X-{n}": "v" for n in range(11)}}, "headers"),
        ({"headers": "X-A: b"}, "headers"),
        ({"rateLimit": {"count": 0, "periodSeconds": 1}}, "rateLimit.count"),
        ({"rateLimit": {"count": 1, "periodSeconds": 0}}, "rateLimit.periodSeconds"),
        ({"rateLimit": {"count": 5000, "periodSeconds": 1}}, "rateLimit"),
        ({"rateLimit": {"count": 1}}, "rateLimit"),
        ({"rateLimit": {"count": True, "periodSeconds": 1}}, "rateLimit.count"),
    ]
    for extra, field in cases:
        answer = stack.call("POST", "/v1/events/webhooks", key=key, body={**base, **extra})
        assert answer.status == 400, (extra, answer.json)
        assert answer.error.get("field") == field, (extra, answer.json)
    assert stack.call("GET", "/v1/events/webhooks", key=key).json["webhooks"] == []


def test_webhooks_stored_before_the_controls_read_as_unlimited_closed_and_bare(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/old"))
    table = pipeline.stack.table("WebhooksTable")
    item = table.get_item(Key={"developerId": "user_123", "webhookId": hook["id"]})["Item"]
    table.put_item(Item={k: v for k, v in item.items() if k not in ("rateLimit", "headerNames", "headersEnc")})
    answer = pipeline.stack.call("GET", f"/v1/events/webhooks/{hook['id']}", key=key).json
    assert answer["rateLimit"] is None and answer["headerNames"] == []
    assert answer["circuit"]["state"] == "closed" and answer["throttle"] == {"lagSeconds": 0.0}
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    assert len(receiver.at("/old")) == 1


class TokenServer:
    """A local OAuth2 token endpoint (client credentials) on 127.0.0.1: counts what it issued."""

    def __init__(self, expires_in: int = 3600):
        import base64
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs

        self.requests: list[dict] = []
        self.issued: list[str] = []
        self.status = 200
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                basic = base64.b64decode(self.headers["Authorization"].removeprefix("Basic ")).decode()
                server.requests.append({"form": form, "basic": basic})
                if server.status != 200:
                    body = json.dumps({"error": "invalid_client"}).encode()
                    self.send_response(server.status)
                else:
                    token = f"tok-{len(server.issued) + 1}"
                    server.issued.append(token)
                    body = json.dumps(
                        {"access_token": token, "token_type": "Bearer", "expires_in": expires_in}
                    ).encode()
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/oauth/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_an_oauth2_bearer_token_and_a_custom_header_arrive_on_each_post(pipeline, receiver):
    tokens = TokenServer()
    try:
        key = pipeline.stack.key()
        calls: list[int] = []

        def checks() -> Behaviour:  # the receiver stops accepting the first token at the third post
            calls.append(1)
            return Behaviour(status=401 if len(calls) == 3 else 200)

        auth = {
            "type": "oauth2",
            "tokenUrl": tokens.url,
            "clientId": "events-client",
            "clientSecret": "cl1ent-s3cret",
            "scope": "webhooks.write",
        }
        hook = pipeline.webhook(key, receiver.behave("/api", checks), auth=auth, headers={"X-Tenant": "acme"})
        assert hook["auth"] == {
            "type": "oauth2",
            "tokenUrl": tokens.url,
            "clientId": "events-client",
            "scope": "webhooks.write",
            "hasClientSecret": True,
        }
        assert "cl1ent-s3cret" not in json.dumps(pipeline.listed(key))
        for n in range(3):
            pipeline.publish("user_123", "tool.executed", {**TOOL_DATA, "n": n})
            pipeline.pump()
        assert pipeline.stack.call("POST", f"/v1/events/webhooks/{hook['id']}/test", key=key, body={}).json["delivered"]

        posts = receiver.at("/api")
        assert all(p.headers["X-Tenant"] == "acme" for p in posts)
        assert [p.headers["Authorization"] for p in posts[:4]] == [
            "Bearer tok-1",
            "Bearer tok-1",
            "Bearer tok-1",  # 401: the token is fetched again, once, and the post made again
            "Bearer tok-2",
        ]
        # The test send is another function (its own token cache): one more token at most.
        assert posts[4].headers["Authorization"] == f"Bearer {tokens.issued[-1]}"
        assert len(tokens.issued) == 3  # cached between posts
        assert tokens.requests[0]["basic"] == "events-client:cl1ent-s3cret"
        assert tokens.requests[0]["form"] == {"grant_type": ["client_credentials"], "scope": ["webhooks.write"]}
        assert {r["status"] for r in pipeline.records(hook["id"])} == {"succeeded"}

        # A token endpoint that refuses: the attempt fails with why, and nothing is posted without it.
        tokens.status = 401
        changed = pipeline.stack.call(
            "PATCH", f"/v1/events/webhooks/{hook['id']}", key=key, body={"auth": {**auth, "clientId": "other"}}
        )
        assert changed.status == 200
        before = len(posts)
        pipeline.publish("user_123", "tool.executed", {**TOOL_DATA, "n": 9})
        pipeline.source("FanoutFunction").poll_once()
        pipeline.source("DeliverFunction").poll_once()
        assert len(receiver.at("/api")) == before
        failed = [r for r in pipeline.records(hook["id"]) if r["status"] == "retrying"]
        assert failed[0]["lastError"] == "oauth2 token: HTTP 401 invalid_client"
    finally:
        tokens.close()


def test_oauth2_and_an_authorization_header_do_not_go_together_and_the_token_url_is_checked(make_stack):
    stack = make_stack()  # production rules: no http, no private addresses
    key = stack.key()
    base = {"event": "tool.executed", "url": "https://example.com/hook"}
    auth = {"type": "oauth2", "tokenUrl": "https://auth.example.com/token", "clientId": "c", "clientSecret": "s"}
    cases = [
        ({"auth": auth, "headers": {"Authorization": "Bearer x"}}, "headers.Authorization"),
        ({"auth": {**auth, "tokenUrl": "https://169.254.169.254/latest"}}, "auth.tokenUrl"),
        ({"auth": {**auth, "tokenUrl": "http://auth.example.com/token"}}, "auth.tokenUrl"),
        ({"auth": {**auth, "type": "basic"}}, "auth.type"),
        ({"auth": {k: v for k, v in auth.items() if k != "clientSecret"}}, "auth.clientSecret"),
    ]
    for extra, field in cases:
        answer = stack.call("POST", "/v1/events/webhooks", key=key, body={**base, **extra})
        assert answer.status == 400, (extra, answer.json)
        assert answer.error.get("field") == field, (extra, answer.json)
    hook = stack.call("POST", "/v1/events/webhooks", key=key, body={**base, "headers": {"Authorization": "x"}}).json
    answer = stack.call("PATCH", f"/v1/events/webhooks/{hook['id']}", key=key, body={"auth": auth})
    assert answer.status == 400 and answer.error["field"] == "headers.Authorization"


def test_a_receiver_verifies_a_v1a_signature_with_the_public_key_from_the_api(pipeline, receiver):
    import base64

    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/v1a"), secret="s3cret", asymmetricSignature=True)
    assert hook["asymmetricSignature"] is True
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    [post] = receiver.at("/v1a")

    [published] = pipeline.stack.call("GET", "/v1/events/signing-keys", key=key).json["keys"]
    assert published["alg"] == "Ed25519" and published["expiresAt"] is None
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(published["publicKey"]))
    signatures = post.headers["webhook-signature"].split(" ")
    assert [s.split(",")[0] for s in signatures] == ["v1", "v1a"]  # the HMAC one stays, v1a is added
    signed = f"{post.headers['webhook-id']}.{post.headers['webhook-timestamp']}.".encode() + post.body
    public.verify(base64.b64decode(signatures[1].split(",", 1)[1]), signed)  # raises when it does not verify
    try:
        public.verify(base64.b64decode(signatures[1].split(",", 1)[1]), signed + b" ")
        raise AssertionError("a changed body verified")
    except InvalidSignature:
        pass
    assert post.headers["X-Webhook-Signature"].startswith("sha256=")  # unchanged

    # No private key anywhere in the answer or in clear in the table.
    stored = [i for i in pipeline.stack.items("WebhooksTable") if str(i["webhookId"]).startswith("~signing-key#")]
    assert len(stored) == 1 and "privateKey" not in stored[0] and stored[0]["privateKeyEnc"]


def test_the_circuit_opens_exactly_once_and_slots_are_distinct_under_concurrency(stack):
    """Counting is one atomic ADD, opening one conditional write: of many racing batches exactly
    one opens the circuit (and owes the alert); racing posts never share a rate slot."""
    from concurrent.futures import ThreadPoolExecutor

    from events_core.clock import now_ms
    from events_core.webhooks.repository import WebhookRepository

    key = stack.key()
    base = {"event": "tool.executed", "url": "https://example.com/hook"}
    hook = stack.call(
        "POST", "/v1/events/webhooks", key=key, body={**base, "rateLimit": {"count": 10, "periodSeconds": 1}}
    )
    repository = WebhookRepository()
    webhook_id = hook.json["id"]

    def fail_and_open(_: int) -> bool:
        count, _state = repository.record_failures("user_123", webhook_id, 1, "2026-01-01T00:00:00.000Z")
        return count >= 25 and repository.open_circuit("user_123", webhook_id, 25, now_ms(), now_ms() + 60_000)

    with ThreadPoolExecutor(max_workers=8) as pool:
        opened = list(pool.map(fail_and_open, range(40)))
        slots = list(pool.map(lambda _: repository.take_slot("user_123", webhook_id, 100, now_ms()), range(30)))
    assert opened.count(True) == 1
    answer = stack.call("GET", f"/v1/events/webhooks/{webhook_id}", key=key).json
    assert answer["failCount"] == 40 and answer["circuit"]["state"] == "open"
    assert len(set(slots)) == 30  # no two posts share a slot
    assert max(slots) - min(slots) >= 29 * 100 - 50


def test_held_and_throttled_deliveries_are_never_queued_again_by_redeliver_or_recover(make_pipeline, receiver):
    """Issue 21: no path re-queues a held or throttled delivery — a redeliver would post it past
    the open circuit or beside its slot (twice). It answers 409 delivery_waiting; recover skips it."""
    pipeline = make_pipeline(RetrySchedule="0,0,0,0,0", FailureThreshold="2", CircuitProbeSeconds="600")
    key = pipeline.stack.key()
    down = Switch()
    broken = pipeline.webhook(key, receiver.behave("/down", down))
    pipeline.publish("user_123", "tool.executed", {**TOOL_DATA, "n": 0})
    pipeline.pump()
    assert pipeline.stack.call("GET", f"/v1/events/webhooks/{broken['id']}", key=key).json["circuit"]["state"] == "open"
    pipeline.publish("user_123", "tool.executed", {**TOOL_DATA, "n": 1})
    pipeline.pump()
    held = [r for r in pipeline.records(broken["id"]) if r["status"] == "held"][-1]  # the one never posted
    posted = len(receiver.at("/down"))

    limited = pipeline.webhook(key, receiver.url("/slow"), rateLimit={"count": 1, "periodSeconds": 600})
    for n in range(3):
        pipeline.publish("user_123", "tool.executed", {**TOOL_DATA, "n": 10 + n})
    while pipeline.source("FanoutFunction").poll_once():
        pass
    pipeline.source("DeliverFunction").poll_once()
    throttled = [r for r in pipeline.records(limited["id"]) if r["status"] == "throttled"]
    assert throttled

    for hook, record in ((broken, held), (limited, throttled[0])):
        path = f"/v1/events/webhooks/{hook['id']}/deliveries/{record['deliveryId']}/redeliver"
        answer = pipeline.stack.call("POST", path, key=key)
        assert (answer.status, answer.error["code"]) == (409, "delivery_waiting"), answer.json
        [after] = [r for r in pipeline.records(hook["id"]) if r["deliveryId"] == record["deliveryId"]]
        assert after["status"] == record["status"] and after["attempt"] == record["attempt"]
    window = {"since": "2020-01-01T00:00:00Z"}
    for hook in (broken, limited):
        recovered = pipeline.stack.call("POST", f"/v1/events/webhooks/{hook['id']}/recover", key=key, body=window)
        assert recovered.status == 202 and recovered.json["queued"] == 0
    pipeline.source("DeliverFunction").poll_once()
    assert len(receiver.at("/down")) == posted  # nothing went past the open circuit
    assert len(receiver.at("/slow")) == 1  # nor past the rate limit


def test_the_catch_up_has_one_link_in_flight_handed_on_only_by_the_batch_that_settled_it(stack):
    """One releaser at a time while the circuit is closed; the link in flight is handed on by its own
    delivery id (once: a second copy of that message finds it gone), or by anyone once it is overdue."""
    from events_core.clock import now_ms
    from events_core.webhooks.repository import WebhookRepository

    key = stack.key()
    hook = stack.call("POST", "/v1/events/webhooks", key=key, body={"event": "tool.executed", "url": "https://e.com/h"})
    repository, webhook_id = WebhookRepository(), hook.json["id"]
    now = now_ms()
    assert not repository.claim_release("user_123", webhook_id, now, now + 10_000)  # nothing held
    repository.record_failures("user_123", webhook_id, 1, "2026-01-01T00:00:00.000Z")
    assert repository.open_circuit("user_123", webhook_id, 1, now, now + 1000)
    assert repository.close_circuit("user_123", webhook_id)  # healed: held deliveries pending

    assert repository.claim_release("user_123", webhook_id, now, now + 10_000)
    assert not repository.claim_release("user_123", webhook_id, now, now + 10_000)  # one releaser
    repository.link_sent("user_123", webhook_id, "msg_1", now + 60_000)
    assert not repository.claim_release("user_123", webhook_id, now, now + 10_000)
    assert not repository.claim_release("user_123", webhook_id, now, now + 10_000, settled="msg_0")
    assert repository.claim_release("user_123", webhook_id, now, now + 10_000, settled="msg_1")
    assert not repository.claim_release("user_123", webhook_id, now, now + 10_000, settled="msg_1")  # a copy
    repository.link_sent("user_123", webhook_id, "msg_2", now + 60_000)
    assert repository.claim_release("user_123", webhook_id, now + 60_001, now + 70_000)  # overdue: anyone

    repository.record_failures("user_123", webhook_id, 1, "2026-01-01T00:00:00.000Z")
    assert repository.open_circuit("user_123", webhook_id, 1, now, now + 1000)  # open again
    assert not repository.claim_release("user_123", webhook_id, now + 80_000, now + 90_000)
    assert repository.close_circuit("user_123", webhook_id)  # a closing starts the catch-up afresh
    assert repository.claim_release("user_123", webhook_id, now, now + 10_000)
    assert repository.held_settled("user_123", webhook_id)
    assert not repository.claim_release("user_123", webhook_id, now + 80_000, now + 90_000)  # nothing pending
