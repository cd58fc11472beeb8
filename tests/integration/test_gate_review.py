"""Every outbound byte through the one gate (the security and newcomer reviews of 2026-12-07): each
test reproduces a finding and fails without its fix."""

import json
import time

from tests.integration.test_receiver_controls import TokenServer

WEBHOOKS = "/v1/events/webhooks"
SMALL_BUDGET = {
    "PostBudgetBurst": "2",
    "WebhookPostBudgetBurst": "2",
    "PostBudgetPerMinute": "1",
    "WebhookPostBudgetPerMinute": "1",
}


def oauth(tokens: TokenServer, **extra: str) -> dict:
    return {"type": "oauth2", "tokenUrl": tokens.url, "clientId": "c", "clientSecret": "s", **extra}


def test_a_spent_post_budget_stops_every_asked_for_post_and_its_token_fetch(make_pipeline, receiver):
    """Review H1: with the developer's post budget spent, OAuth2 test sends still POSTed to the token
    URL (8 of them) and answered 200. Now no test, redeliver, recover or challenge post leaves, no
    token is fetched for one, each answers 429 budget_exceeded with Retry-After, and events still
    go out on time (with their token)."""
    tokens = TokenServer()
    try:
        pipeline = make_pipeline(RetrySchedule="0", **SMALL_BUDGET)
        key = pipeline.stack.key()
        hook = pipeline.webhook(key, receiver.behave("/hook", status=500))
        pipeline.publish("user_123", "tool.executed", {"n": 0})
        pipeline.pump()
        [dead] = pipeline.records(hook["id"])  # something to redeliver and recover
        for _ in range(2):  # the budget is spent after these
            assert pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/test", key=key).status == 200
        before = len(receiver.at("/hook"))
        changed = pipeline.stack.call("PATCH", f"{WEBHOOKS}/{hook['id']}", key=key, body={"auth": oauth(tokens)})
        assert changed.status == 200
        asked = [
            ("POST", f"{WEBHOOKS}/{hook['id']}/test", None),
            ("POST", f"{WEBHOOKS}/{hook['id']}/deliveries/{dead['deliveryId']}/redeliver", None),
            ("POST", f"{WEBHOOKS}/{hook['id']}/recover", {"since": "2000-01-01T00:00:00Z"}),
            ("POST", f"{WEBHOOKS}/{hook['id']}/verify", None),
        ]
        for _ in range(2):
            for method, path, body in asked:
                answer = pipeline.stack.call(method, path, key=key, body=body)
                assert answer.status == 429 and answer.error["code"] == "budget_exceeded", (path, answer.json)
                assert int(answer.headers["Retry-After"]) >= 1
        pipeline.pump()
        assert tokens.requests == [], "no token fetch for a post that may not leave"
        assert len(receiver.at("/hook")) == before, "nothing asked for left once the budget was spent"

        receiver.behave("/hook", status=200)
        pipeline.publish("user_123", "tool.executed", {"n": 1})
        pipeline.pump()
        [event] = receiver.at("/hook")[before:]
        assert event.headers["Authorization"] == "Bearer tok-1" and len(tokens.requests) == 1
    finally:
        tokens.close()


def test_a_failed_token_fetch_is_remembered_and_reaches_nothing_else(pipeline, receiver):
    """Review H1: a failed fetch was never cached, so every retry and test fetched again."""
    tokens = TokenServer()
    tokens.status = 500
    try:
        key = pipeline.stack.key()
        hook = pipeline.webhook(key, receiver.url("/hook"), auth=oauth(tokens))
        for _ in range(3):
            sent = pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/test", key=key).json
            assert sent["delivered"] is False and sent["error"].startswith("oauth2 token: HTTP 500")
        assert len(tokens.requests) == 1, "remembered for 30 s"
        assert receiver.at("/hook") == [], "no post goes without its token"
    finally:
        tokens.close()


def test_the_gate_checks_the_token_url_before_any_fetch(pipeline, receiver):
    """Review H1: the token fetch skipped the gate's SSRF step. A token URL stored under looser
    rules (here: plain http to the metadata address) is refused before anything leaves."""
    tokens = TokenServer()
    try:
        key = pipeline.stack.key()
        hook = pipeline.webhook(key, receiver.url("/hook"), auth=oauth(tokens))
        pipeline.stack.table("WebhooksTable").update_item(
            Key={"developerId": "user_123", "webhookId": hook["id"]},
            UpdateExpression="SET #auth.tokenUrl = :bad",
            ExpressionAttributeNames={"#auth": "auth"},
            ExpressionAttributeValues={":bad": "http://169.254.169.254/latest/meta-data"},
        )
        sent = pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/test", key=key).json
        assert sent["delivered"] is False and sent["error"].startswith("blocked: auth.tokenUrl"), sent
        assert tokens.requests == [] and receiver.at("/hook") == []
    finally:
        tokens.close()


def test_a_throttled_test_send_is_a_429_that_reserves_nothing(pipeline, receiver):
    """Newcomer review 1: with `rateLimit {count 1, periodSeconds 2}`, six more quick test sends
    answered 503 naming an internal step, each took a rate slot, and the next real event arrived
    13 s late. Now: 429 `throttled` with Retry-After, nothing reserved, the event on time."""
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/limited"), rateLimit={"count": 1, "periodSeconds": 2})
    assert pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/test", key=key).json["delivered"] is True
    table = pipeline.stack.table("WebhooksTable")
    item_key = {"developerId": "user_123", "webhookId": hook["id"]}
    # A queue of slots already given out (a burst of real events): the next free one is 20 s away.
    tat = int(time.time() * 1000) + 20_000
    table.update_item(Key=item_key, UpdateExpression="SET rateTat = :tat", ExpressionAttributeValues={":tat": tat})
    for _ in range(6):
        answer = pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/test", key=key)
        assert answer.status == 429 and answer.error["code"] == "throttled", answer.json
        assert 15 <= int(answer.headers["Retry-After"]) <= 21
        assert "rate-slot-and-circuit" not in answer.error["message"]
    assert int(table.get_item(Key=item_key)["Item"]["rateTat"]) == tat, "a refused send reserves nothing"
    redelivered = pipeline.stack.call(
        "POST", f"{WEBHOOKS}/{hook['id']}/deliveries/{pipeline.records(hook['id'])[0]['deliveryId']}/redeliver", key=key
    )
    assert redelivered.status == 429 and redelivered.error["code"] == "throttled"
    assert int(table.get_item(Key=item_key)["Item"]["rateTat"]) == tat

    # The queue drains: the next real event takes the first slot, not one behind six tests.
    table.update_item(Key=item_key, UpdateExpression="REMOVE rateTat, ratePostedAt")
    pipeline.publish("user_123", "tool.executed", {"n": 1})
    started = time.monotonic()
    pipeline.pump()
    events = [p for p in receiver.at("/limited") if json.loads(p.body).get("test") is None]
    assert len(events) == 1 and time.monotonic() - started < 5
