"""Off-boarding leaves nothing: a developer who used every feature (webhooks with secrets, headers and
OAuth2, test sends, redeliver and recover, a deleted webhook, large payloads, idempotent events,
listen sessions with triggers and answers, an ended session, subjects on events, API-call logs, rate counters, settings,
expunged deliveries and expunge jobs, an ordered webhook's key state)
is removed, every table of the data map is scanned (a test may scan), and nothing of theirs is left,
while another developer who did the same keeps every item."""

import json

import boto3

from events_core.data_map import TABLES
from eventsapi.admin import developers
from eventsapi.admin.target import Target
from eventsapi.local.wiring import REGION

WEBHOOKS = "/v1/events/webhooks"
TOKEN = b'{"access_token": "tok", "token_type": "Bearer", "expires_in": 3600}'
JOB_WINDOW = {"since": "2020-01-01T00:00:00Z", "until": "2020-01-02T00:00:00Z"}  # a job item, nothing removed
BIG = {"toolName": "erp", "input": {"prompt": "x" * 6000}, "result": {}, "elapsed_ms": 1}


def everything(pipeline, receiver, developer: str) -> str:
    """One of every kind of item for `developer`, through the API and the pipeline; their key."""
    stack = pipeline.stack
    key = stack.key(developer)
    stack.key(developer, ("read",))
    token_url = receiver.behave(f"/{developer}/token", body=TOKEN, headers={"Content-Type": "application/json"})
    auth = {"type": "oauth2", "tokenUrl": token_url, "clientId": "c", "clientSecret": "s3cret"}
    ok = pipeline.webhook(key, receiver.url(f"/{developer}/ok"), secret="whsec-abc", auth=auth, headers={"X-T": "1"})
    down = pipeline.webhook(key, receiver.behave(f"/{developer}/down", status=503), asymmetricSignature=True)
    # An ownership challenge leaves its verify link (ControlTable, by its token's hash) behind.
    assert stack.call("POST", f"{WEBHOOKS}/{down['id']}/verify", key=key).status in (200, 502, 503), "challenge"
    gone = pipeline.webhook(key, receiver.url(f"/{developer}/gone"))
    # Delivered in order per toolName: its key's head and queue (the deliveries table's ordering partition).
    pipeline.webhook(key, receiver.url(f"/{developer}/ordered"), ordering={"by": "toolName", "windowMs": 0})

    session = stack.call("POST", "/v1/events/listen", key=key, body={}).json
    ended = stack.call("POST", "/v1/events/listen", key=key, body={}).json
    pipeline.publish(developer, "tool.executed", {"toolName": "t", "input": {}, "result": {}, "elapsed_ms": 1})
    pipeline.publish(developer, "tool.executed", BIG)  # stored once in the payloads table
    pipeline.publish(developer, "tool.executed", {"n": 2}, idempotencyKey="order-1")
    pipeline.publish(developer, "tool.executed", {"n": 3}, subjects=["user:42"])  # the subject index
    pipeline.pump()
    assert stack.call("POST", "/v1/events/listen/trigger", key=key, body={"event": "tool.executed"}).status == 200
    waiting = stack.call("GET", f"/v1/events/listen/{session['sessionId']}/next?wait=0&limit=1", key=key).json
    [handed] = waiting["deliveries"]
    answer = {"status": 200, "latencyMs": 3, "body": f"PII-in-answer of {developer}"}
    path = f"/v1/events/listen/{session['sessionId']}/deliveries/{handed['deliveryId']}/result"
    assert stack.call("POST", path, key=key, body=answer).status == 204
    assert stack.call("DELETE", f"/v1/events/listen/{ended['sessionId']}", key=key).status == 204

    assert stack.call("POST", f"{WEBHOOKS}/{ok['id']}/test", key=key, body={}).status == 200
    [first, *_] = pipeline.records(ok["id"])
    redeliver = f"{WEBHOOKS}/{ok['id']}/deliveries/{first['deliveryId']}/redeliver"
    assert stack.call("POST", redeliver, key=key).status == 202
    recover = stack.call("POST", f"{WEBHOOKS}/{down['id']}/recover", key=key, body={"since": "2020-01-01T00:00:00Z"})
    assert recover.status == 202, recover.json
    assert stack.call("DELETE", f"{WEBHOOKS}/{gone['id']}", key=key).status == 200
    assert stack.call("PATCH", "/v1/events/settings", key=key, body={"retention": {"recordDays": 7}}).status == 200
    assert stack.call("DELETE", f"{WEBHOOKS}/{ok['id']}/deliveries/{first['deliveryId']}/payload", key=key).status in (
        204,
        409,  # the redelivery may still be on its way
    )
    assert stack.call("POST", "/v1/events/expunge", key=key, body=JOB_WINDOW).status == 202
    pipeline.pump()
    return key


def holding(stack, developer: str) -> dict[str, list[str]]:
    """Every item, in every table of the map, that names the developer anywhere (a scan)."""
    found: dict[str, list[str]] = {}
    for store in TABLES:
        for item in stack.items(store.logical_id):
            text = json.dumps(item, default=str)
            if developer in text:
                found.setdefault(store.logical_id, []).append(text)
    return found


def test_a_developer_who_used_every_feature_leaves_nothing_and_another_keeps_everything(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="0")  # the receiver that fails: dead at once, for recover
    for developer in ("leaving_dev", "staying_dev"):
        everything(pipeline, receiver, developer)
    before = holding(pipeline.stack, "leaving_dev")
    kinds = set(before)
    assert kinds >= {
        "ApiKeysTable", "ListenTable", "DeliveriesTable", "PayloadsTable", "IdempotencyTable",
        "ApiLogsTable", "ControlTable", "RateCountersTable", "WebhooksTable",
    }, kinds  # fmt: skip
    assert any('"~partitions' in text or "~partitions" in text for text in before["DeliveriesTable"])
    assert any("PII-in-answer" in text for text in before["DeliveriesTable"])
    assert any("~subject#" in text for text in before["DeliveriesTable"])  # who used a subject
    kept = holding(pipeline.stack, "staying_dev")

    target = Target.of_template(pipeline.stack.template, boto3.Session(region_name=REGION))
    removed = developers.remove(target, "leaving_dev")

    assert holding(pipeline.stack, "leaving_dev") == {}
    assert holding(pipeline.stack, "staying_dev") == kept
    assert removed.webhooks == 3 and removed.api_keys == 2
    assert sum(removed.counts.values()) == sum(len(items) for items in before.values())
    named = "\n".join(removed.notes)
    for store in ("DeliveryQueue", "DeliveryDeadLetterQueue", "EventsQueue", "ApiAccessLogs", "*FunctionLogs"):
        assert store in named  # what only a queue or log group still holds, with its ceiling
    assert "14 days" in named and "30 days" in named


def test_export_writes_every_item_the_map_finds_without_secrets(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="0")
    everything(pipeline, receiver, "exported_dev")
    everything(pipeline, receiver, "other_dev")
    target = Target.of_template(pipeline.stack.template, boto3.Session(region_name=REGION))
    lines = list(developers.exported(target, "exported_dev"))
    held = holding(pipeline.stack, "exported_dev")
    assert len(lines) == sum(len(items) for items in held.values())
    text = json.dumps(lines)
    assert "other_dev" not in text
    for secret in ("secretEnc", "authSecretEnc", "headersEnc", "keyHash", "s3cret", "whsec-abc"):
        assert secret not in text
    assert "PII-in-answer of exported_dev" in text and "x" * 6000 in text
