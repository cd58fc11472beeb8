"""Ownership verification (EndpointVerification): under `required` a receiver gets nothing until it
echoes its challenge or opens the manual link; a changed URL proves itself again; `off` leaves the
reference's calls exactly as published."""

import json
from urllib.parse import urlsplit

from eventsapi.harness.receiver import Behaviour
from tests.reference.verify import verify

SECRET = "my-webhook-secret"


def echo(body: bytes) -> bytes:
    """A receiver that knows the handshake: the challenge back as text (any other post: ok)."""
    return json.loads(body)["data"].get("challenge", "ok").encode()


def echo_json(body: bytes) -> bytes:
    return json.dumps({"challenge": json.loads(body)["data"].get("challenge")}).encode()


def verify_now(pipeline, key, webhook_id):
    return pipeline.stack.call("POST", f"/v1/events/webhooks/{webhook_id}/verify", key=key)


def forget_last_challenge(pipeline, webhook_id):
    """Past the one-challenge-per-10-s limit without waiting 10 s."""
    pipeline.stack.table("WebhooksTable").update_item(
        Key={"developerId": "user_123", "webhookId": webhook_id}, UpdateExpression="REMOVE verifyTriedAt"
    )


def test_off_changes_nothing_in_the_reference_create(pipeline, receiver):
    created = pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"), secret=SECRET)
    assert "verification" not in created and created["enabled"] is True and created["disabledReason"] is None


def test_required_a_receiver_gets_nothing_until_it_echoes_then_everything(make_pipeline, receiver):
    pipeline = make_pipeline(EndpointVerification="required")
    key = pipeline.stack.key()
    silent = receiver.url("/silent")
    created = pipeline.webhook(key, silent, secret=SECRET)
    assert created["enabled"] is False and created["disabledReason"] == "unverified"
    assert created["verification"] == {"status": "pending", "verifiedAt": None}

    pipeline.publish("user_123", "tool.executed", {"n": 1})
    pipeline.pump()
    assert receiver.at("/silent") == [], "an unverified receiver gets nothing"
    for method, path in (
        ("POST", f"/v1/events/webhooks/{created['id']}/test"),
        ("POST", f"/v1/events/webhooks/{created['id']}/recover"),
        ("PATCH", f"/v1/events/webhooks/{created['id']}"),
    ):
        body = {"since": "2026-01-01T00:00:00Z"} if path.endswith("recover") else {}
        if method == "PATCH":
            body = {"enabled": True}
        refused = pipeline.stack.call(method, path, key=key, body=body)
        assert refused.status == 409 and refused.error["code"] == "unverified", (path, refused.json)

    failed = verify_now(pipeline, key, created["id"])
    assert failed.status == 200 and failed.json["verified"] is False and "echo" in failed.json["error"]
    [challenge] = receiver.at("/silent")
    payload = json.loads(challenge.body)
    assert challenge.headers["X-Webhook-Event"] == "webhook.verification"
    assert payload["event"] == "webhook.verification" and payload["data"]["webhookId"] == created["id"]
    assert len(payload["data"]["challenge"]) >= 32 and payload["timestamp"]
    assert verify(challenge.body, challenge.headers["X-Webhook-Signature"], SECRET)
    assert pipeline.listed(key)[created["id"]]["verification"]["status"] == "failed"

    echoing = receiver.behave("/echo", answer=echo)
    hook = pipeline.webhook(key, echoing)
    assert verify_now(pipeline, key, hook["id"]).json["verified"] is True
    now = pipeline.listed(key)[hook["id"]]
    assert now["enabled"] is True and now["disabledReason"] is None
    assert now["verification"]["status"] == "verified" and now["verification"]["verifiedAt"]
    pipeline.publish("user_123", "tool.executed", {"n": 2})
    pipeline.pump()
    assert [json.loads(p.body)["data"] for p in receiver.at("/echo")[1:]] == [{"n": 2}]
    assert receiver.at("/silent")[1:] == []


def test_a_changed_url_is_pending_again(make_pipeline, receiver):
    pipeline = make_pipeline(EndpointVerification="required")
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.behave("/a", answer=echo_json))
    assert verify_now(pipeline, key, hook["id"]).json["verified"] is True
    changed = pipeline.stack.call(
        "PATCH", f"/v1/events/webhooks/{hook['id']}", key=key, body={"url": receiver.url("/b")}
    )
    assert changed.status == 200
    assert changed.json["verification"]["status"] == "pending"
    assert changed.json["enabled"] is False and changed.json["disabledReason"] == "unverified"
    pipeline.publish("user_123", "tool.executed", {"n": 3})
    pipeline.pump()
    assert receiver.at("/b") == []


def test_the_manual_link_shows_on_get_and_verifies_once_on_post(make_pipeline, receiver):
    pipeline = make_pipeline(EndpointVerification="required")
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/no-code"))
    assert verify_now(pipeline, key, hook["id"]).json["verified"] is False
    link = urlsplit(json.loads(receiver.at("/no-code")[0].body)["data"]["verifyUrl"])
    assert link.path.endswith("/v1/events/verify")  # under the stage's own URL (no VerifyLinkBase given)
    link = link._replace(path="/v1/events/verify")
    for _ in range(2):  # a link scanner opening it changes nothing
        shown = pipeline.stack.call("GET", f"{link.path}?{link.query}")  # no key
        assert shown.status == 200 and shown.json["verified"] is False and shown.json["webhookId"] == hook["id"]
        assert pipeline.listed(key)[hook["id"]]["enabled"] is False
    opened = pipeline.stack.call("POST", f"{link.path}?{link.query}")
    assert opened.status == 200 and opened.json == {"verified": True, "webhookId": hook["id"]}
    assert pipeline.listed(key)[hook["id"]]["enabled"] is True
    for method in ("POST", "GET"):
        again = pipeline.stack.call(method, f"{link.path}?{link.query}")
        assert again.status == 410 and again.error["code"] == "gone"
    assert pipeline.stack.call("POST", "/v1/events/verify?token=bm9wZQ").status == 410


def test_the_link_comes_from_configuration_and_its_token_names_nobody(make_pipeline, receiver):
    """Review L1: a caller's Host and X-Forwarded-Proto never shape the link, and the token is an
    opaque random id (it used to be base64 of the developer, the webhook and a nonce)."""
    import base64
    import binascii

    pipeline = make_pipeline(EndpointVerification="required", VerifyLinkBase="https://api.example.com/prod")
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/no-code"))
    poisoned = {"Host": "attacker.example", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "attacker.example"}
    pipeline.stack.call("POST", f"/v1/events/webhooks/{hook['id']}/verify", key=key, headers=poisoned)
    link = json.loads(receiver.at("/no-code")[0].body)["data"]["verifyUrl"]
    assert link.startswith("https://api.example.com/prod/v1/events/verify?token=")
    token = urlsplit(link).query.removeprefix("token=")
    try:
        decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        decoded = b""
    assert b"user_123" not in decoded and hook["id"].encode() not in decoded


def test_challenges_are_rate_limited_with_retry_after(make_pipeline, receiver):
    pipeline = make_pipeline(EndpointVerification="required")
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/x"))
    assert verify_now(pipeline, key, hook["id"]).status == 200
    limited = verify_now(pipeline, key, hook["id"])
    assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1
    assert len(receiver.at("/x")) == 1, "a refused challenge posts nothing"


def test_optional_shows_the_state_and_delivers_meanwhile(make_pipeline, receiver):
    pipeline = make_pipeline(EndpointVerification="optional")
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/opt"))
    assert hook["enabled"] is True and hook["verification"]["status"] == "pending"
    pipeline.publish("user_123", "tool.executed", {"n": 4})
    pipeline.pump()
    assert len(receiver.at("/opt")) == 1


def test_a_redirect_or_a_get_never_verifies(make_pipeline, receiver):
    pipeline = make_pipeline(EndpointVerification="required")
    key = pipeline.stack.key()
    url = receiver.behave("/moved", status=302, headers={"Location": receiver.url("/echo")})
    receiver.behaviours["/echo"] = Behaviour(answer=echo)
    hook = pipeline.webhook(key, url)
    assert verify_now(pipeline, key, hook["id"]).json["verified"] is False
    assert receiver.at("/echo") == [], "redirects are not followed"


def test_switching_to_required_keeps_old_webhooks_until_the_operator_marks_them_pending(make_pipeline, receiver):
    import boto3

    from events_core.clock import now_ms
    from eventsapi.admin.target import Target
    from eventsapi.admin.verification import require_all

    pipeline = make_pipeline(EndpointVerification="required")
    key = pipeline.stack.key()
    old = pipeline.webhook(key, receiver.url("/old"))
    table = pipeline.stack.table("WebhooksTable")
    # As created before the switch: no verification state, enabled.
    table.update_item(
        Key={"developerId": "user_123", "webhookId": old["id"]},
        UpdateExpression="SET enabled = :true, activeKey = :active REMOVE verificationStatus, disabledReason",
        ExpressionAttributeValues={":true": True, ":active": "user_123#tool.executed"},
    )
    pipeline.publish("user_123", "tool.executed", {"n": 5})
    pipeline.pump()
    assert len(receiver.at("/old")) == 1, "kept receiving after the switch"

    # What the operator command reads to refuse a stack that does not verify: the stack states it.
    from eventsapi.local.wiring import stated_parameters

    stated = stated_parameters(boto3.client("dynamodb", region_name="us-east-1"), table.name)
    assert stated == {"EndpointVerification": "required"}
    target = Target(boto3.Session(region_name="us-east-1"), None, {"WebhooksTableName": table.name}, deployed=False)
    assert require_all(target, "user_123", now_ms()) == 1
    listed = pipeline.listed(key)[old["id"]]
    assert listed["verification"]["status"] == "pending" and listed["disabledReason"] == "unverified"
    pipeline.publish("user_123", "tool.executed", {"n": 6})
    pipeline.pump()
    assert len(receiver.at("/old")) == 1, "pending: nothing more until it verifies"


def test_a_forged_or_malformed_link_is_410_never_a_5xx(make_pipeline):
    import base64

    pipeline = make_pipeline(EndpointVerification="required")
    forged = [
        base64.urlsafe_b64encode(b"user_123\n" + b"f" * 5000 + b"\nnonce").decode()[:500],
        base64.urlsafe_b64encode(b"user_123\n665f1a2b3c4d5e6f7a8b9c0d\nguess").decode(),
        "%ff%fe",
        "a" * 513,
        "",
    ]
    for token in forged:
        for method in ("GET", "POST"):
            assert pipeline.stack.call(method, f"/v1/events/verify?token={token}").status == 410, token


class GuardedReceiver:
    """A receiver that answers only posts carrying its tenant header and a bearer token the token
    server issued (401 otherwise), echoing the challenge: what a locked-down endpoint looks like."""

    def __init__(self, issued: list[str]):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.seen: list[dict[str, str]] = []
        self.bodies: list[bytes] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.seen.append(dict(self.headers))
                server.bodies.append(body)
                allowed = self.headers.get("X-Tenant") == "acme" and self.headers.get("Authorization") in {
                    f"Bearer {token}" for token in issued
                }
                answer = echo(body) if allowed else b"unauthorized"
                self.send_response(200 if allowed else 401)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/guarded"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_challenge_carries_credentials_only_to_an_origin_already_proven(make_pipeline):
    """A new origin answers its challenge without the webhook's credentials (a locked-down receiver
    uses verifyUrl); once proven, a challenge to the same origin carries them."""
    from tests.integration.test_receiver_controls import TokenServer

    tokens = TokenServer()
    guarded = GuardedReceiver(tokens.issued)
    try:
        pipeline = make_pipeline(EndpointVerification="required")
        key = pipeline.stack.key()
        auth = {"type": "oauth2", "tokenUrl": tokens.url, "clientId": "events-client", "clientSecret": "s3cret"}
        hook = pipeline.webhook(key, guarded.url, auth=auth, headers={"X-Tenant": "acme"})
        assert verify_now(pipeline, key, hook["id"]).json["verified"] is False
        [challenge] = guarded.seen
        assert challenge["X-Webhook-Event"] == "webhook.verification"
        assert "X-Tenant" not in challenge and "Authorization" not in challenge and tokens.requests == []
        link = urlsplit(json.loads(guarded.bodies[0])["data"]["verifyUrl"])
        assert pipeline.stack.call("POST", f"/v1/events/verify?{link.query}").json["verified"] is True

        # The same origin, another path: pending again, and its challenge may carry them now.
        moved = pipeline.stack.call(
            "PATCH", f"/v1/events/webhooks/{hook['id']}", key=key, body={"url": guarded.url + "/v2"}
        )
        assert moved.json["verification"]["status"] == "pending" and moved.json["headerNames"] == ["X-Tenant"]
        forget_last_challenge(pipeline, hook["id"])
        assert verify_now(pipeline, key, hook["id"]).json["verified"] is True
        assert (
            guarded.seen[-1]["X-Tenant"] == "acme" and guarded.seen[-1]["Authorization"] == f"Bearer {tokens.issued[0]}"
        )
        assert tokens.requests[0]["basic"] == "events-client:s3cret"
    finally:
        guarded.close()
        tokens.close()


def test_a_write_only_key_that_moves_the_url_and_asks_for_a_challenge_learns_no_credential(make_pipeline, receiver):
    """Review M1: the holder of a write-only key PATCHes `url` to its own server and calls /verify.
    Nothing of the owner's sealed headers or OAuth2 token reaches the new origin: a move to another
    origin drops them (unless the same PATCH gives them again), and a challenge to an unproven
    origin carries none."""
    from tests.integration.test_receiver_controls import TokenServer

    tokens = TokenServer()
    try:
        pipeline = make_pipeline(EndpointVerification="required")
        owner = pipeline.stack.key()
        write_only = pipeline.stack.key(scopes=("write",))
        auth = {"type": "oauth2", "tokenUrl": tokens.url, "clientId": "events-client", "clientSecret": "s3cret"}
        own = receiver.behave("/own", answer=echo)
        hook = pipeline.webhook(owner, own, auth=auth, headers={"X-Custom-Secret": "sekret-value-123"})
        assert verify_now(pipeline, owner, hook["id"]).json["verified"] is True  # (no credentials: a new origin)

        from eventsapi.harness.receiver import Receiver

        with Receiver() as attacker:
            attacker.behave("/attacker", answer=echo)
            moved = pipeline.stack.call(
                "PATCH", f"/v1/events/webhooks/{hook['id']}", key=write_only, body={"url": attacker.url("/attacker")}
            )
            assert moved.status == 200 and moved.json["headerNames"] == [] and moved.json["auth"] is None
            forget_last_challenge(pipeline, hook["id"])
            assert verify_now(pipeline, write_only, hook["id"]).status == 200
            pipeline.publish("user_123", "tool.executed", {"n": 1})
            pipeline.pump()
            seen = attacker.at("/attacker")
            assert seen, "the challenge (and the event) reached the new URL"
            for post in seen:
                assert "X-Custom-Secret" not in post.headers and "Authorization" not in post.headers
                assert b"sekret-value-123" not in post.body
        assert tokens.requests == [], "no token was fetched for the new origin"
    finally:
        tokens.close()


def test_a_changed_token_url_must_prove_itself_again(make_pipeline, receiver):
    """Review H1: a verified webhook whose auth.tokenUrl changes is pending again (and, under
    `required`, receives nothing, and no token is fetched for it) until it verifies."""
    from tests.integration.test_receiver_controls import TokenServer

    tokens = TokenServer()
    try:
        pipeline = make_pipeline(EndpointVerification="required")
        key = pipeline.stack.key()
        hook = pipeline.webhook(key, receiver.behave("/ok", answer=echo))
        assert verify_now(pipeline, key, hook["id"]).json["verified"] is True
        auth = {"type": "oauth2", "tokenUrl": tokens.url, "clientId": "c", "clientSecret": "s", "scope": "transfer:all"}
        changed = pipeline.stack.call("PATCH", f"/v1/events/webhooks/{hook['id']}", key=key, body={"auth": auth})
        assert changed.json["verification"]["status"] == "pending" and changed.json["enabled"] is False
        for _ in range(3):
            refused = pipeline.stack.call("POST", f"/v1/events/webhooks/{hook['id']}/test", key=key)
            assert refused.status == 409 and refused.error["code"] == "unverified"
        pipeline.publish("user_123", "tool.executed", {"n": 1})
        pipeline.pump()
        assert tokens.requests == [] and len(receiver.at("/ok")) == 1  # only the first challenge
    finally:
        tokens.close()


def test_the_link_opened_in_a_browser_is_a_small_page_and_json_otherwise(make_pipeline, receiver):
    pipeline = make_pipeline(EndpointVerification="required")
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/no-code"))
    verify_now(pipeline, key, hook["id"])
    link = urlsplit(json.loads(receiver.at("/no-code")[0].body)["data"]["verifyUrl"])
    path = f"/v1/events/verify?{link.query}"
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}

    shown = pipeline.stack.call("GET", path, headers=browser)
    assert shown.status == 200 and shown.headers["Content-Type"].startswith("text/html")
    page = shown.raw.decode()
    assert "Confirm this receiver" in page and hook["id"] in page and '<form method="post">' in page
    assert "default-src 'none'" in shown.headers["Content-Security-Policy"]
    assert pipeline.listed(key)[hook["id"]]["enabled"] is False, "showing the page changes nothing"
    assert pipeline.stack.call("GET", path).json["verified"] is False  # a script still gets JSON

    confirmed = pipeline.stack.call("POST", path, headers=browser)
    assert confirmed.status == 200 and "Receiver verified" in confirmed.raw.decode()
    assert pipeline.listed(key)[hook["id"]]["enabled"] is True
    gone = pipeline.stack.call("GET", path, headers=browser)
    assert gone.status == 410 and "Link no longer valid" in gone.raw.decode()
    assert pipeline.stack.call("GET", path).error["code"] == "gone"
