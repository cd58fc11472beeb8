"""What the README promises is what happens (the newcomer review of 2026-11-30): each test fails
without its fix."""

import boto3
import pytest

from events_core.api_keys import ApiKeyStore
from events_core.records.model import DeliveryStatus
from eventsapi.admin import dlq
from eventsapi.admin.target import Target
from eventsapi.local.gateway import FLUSH_AUTHORIZER_CACHE_PATH
from eventsapi.local.wiring import REGION

WEBHOOKS = "/v1/events/webhooks"


def target_of(pipeline) -> Target:
    """The operator commands' view of the in-process stack."""
    physical = pipeline.physical  # a queue's Ref is its URL
    outputs = {
        "DeliveriesTableName": physical("DeliveriesTable"),
        "WebhooksTableName": physical("WebhooksTable"),
        "ApiKeysTableName": physical("ApiKeysTable"),
        **{
            f"{queue}Url": physical(queue)
            for queue in ("EventsQueue", "DeliveryQueue", "EventsDeadLetterQueue", "DeliveryDeadLetterQueue")
        },
    }
    return Target(boto3.Session(region_name=REGION), None, outputs, deployed=False)


def deliveries(pipeline, key: str, hook: dict, query: str = "") -> list[dict]:
    answer = pipeline.stack.call("GET", f"{WEBHOOKS}/{hook['id']}/deliveries{query}", key=key)
    assert answer.status == 200, answer.json
    return answer.json["deliveries"]


def test_an_unknown_type_from_the_platforms_source_rests_in_the_events_dead_letter_queue(pipeline):
    # review 4: the rule listed the ten types, so EventBridge dropped any other without a trace
    pipeline.publish("user_123", "tool.exploded", {"n": 1})
    pipeline.pump()
    [letter] = pipeline.dead_letters("EventsDeadLetterQueue")
    assert letter["reason"] == "invalid event: unknown event type 'tool.exploded'"


def test_a_failed_test_send_is_failed_listed_by_its_status_and_never_recovered(pipeline, receiver):
    # review 8: it was `dead`, listed with the dead ones, which `recover` then silently skipped
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.behave("/refuses", status=401))
    sent = pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/test", key=key).json
    assert sent["delivered"] is False
    [failed] = deliveries(pipeline, key, hook, "?status=failed")
    assert (failed["deliveryId"], failed["status"], failed["test"]) == (sent["deliveryId"], "failed", True)
    assert deliveries(pipeline, key, hook, "?status=dead") == []
    recovered = pipeline.stack.call(
        "POST", f"{WEBHOOKS}/{hook['id']}/recover", key=key, body={"since": "2000-01-01T00:00:00Z"}
    )
    assert recovered.json["queued"] == 0


def test_a_failed_test_stored_as_dead_before_failed_existed_reads_as_failed(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.behave("/refuses", status=401))
    sent = pipeline.stack.call("POST", f"{WEBHOOKS}/{hook['id']}/test", key=key).json
    table = pipeline.stack.table("DeliveriesTable")
    [item] = [i for i in table.scan()["Items"] if i["deliveryId"] == sent["deliveryId"]]
    table.put_item(Item={**item, "status": "dead", "failedKey": item["webhookKey"]})  # the previous format
    assert [d["status"] for d in deliveries(pipeline, key, hook, "?status=failed")] == ["failed"]
    assert deliveries(pipeline, key, hook, "?status=dead") == []


def test_dlq_list_shows_the_status_now_and_redrive_says_what_it_did_with_each(make_pipeline, receiver):
    # review 5: a recovered delivery was listed as failed, redrive was silent, and one whose webhook
    # was disabled vanished
    pipeline = make_pipeline(RetrySchedule="0")
    key = pipeline.stack.key()
    down = receiver.behave("/down", status=500)
    recovered, disabled, deleted = (
        pipeline.webhook(key, down, filter={"n": [n]}) for n in ("recovered", "disabled", "deleted")
    )
    for n in ("recovered", "disabled", "deleted"):
        pipeline.publish("user_123", "tool.executed", {"n": n})
    pipeline.pump()
    target = target_of(pipeline)
    assert {dlq.delivery_status(target, letter) for letter in dlq.peek(target, "delivery")} == {"dead"}

    receiver.behave("/down", status=200)
    assert (
        pipeline.stack.call(
            "POST", f"{WEBHOOKS}/{recovered['id']}/recover", key=key, body={"since": "2000-01-01T00:00:00Z"}
        ).json["queued"]
        == 1
    )
    pipeline.pump()
    pipeline.stack.call("PATCH", f"{WEBHOOKS}/{disabled['id']}", key=key, body={"enabled": False})
    pipeline.stack.call("DELETE", f"{WEBHOOKS}/{deleted['id']}", key=key)
    statuses = {letter.webhook_id: dlq.delivery_status(target, letter) for letter in dlq.peek(target, "delivery")}
    assert statuses[recovered["id"]] == DeliveryStatus.SUCCEEDED.value

    done = dlq.redrive(target, "delivery")
    assert (done.posted, done.already_delivered) == (0, 1)
    assert dict(done.kept) == {"webhook disabled (enable it, then redrive)": 1}
    assert sum(done.dropped.values()) == 1
    summary = done.summary("delivery")
    assert "0 sent back to be posted; 1 already delivered (removed); 1 kept: webhook disabled" in summary
    [left] = dlq.peek(target, "delivery")  # the disabled one waits for its webhook
    assert left.webhook_id == disabled["id"]


def test_purge_counts_skips_an_empty_queue_and_explains_the_60_second_rule(pipeline, monkeypatch):
    # review 11: "…is empty" read like "nothing to purge"; a second purge was a raw AWS error
    target = target_of(pipeline)
    pipeline.publish("user_123", "tool.exploded", {})
    pipeline.pump()
    assert dlq.purge(target, "events") == 1
    calls = []
    monkeypatch.setattr(target.client("sqs"), "purge_queue", lambda **kwargs: calls.append(kwargs))
    assert dlq.purge(target, "events") == 0 and calls == []  # empty: SQS is not asked

    def too_soon(**_):
        raise target.client("sqs").exceptions.PurgeQueueInProgress(
            {"Error": {"Code": "AWS.SimpleQueueService.PurgeQueueInProgress", "Message": "60 s"}}, "PurgeQueue"
        )

    monkeypatch.setattr(target.client("sqs"), "purge_queue", too_soon)
    pipeline.publish("user_123", "tool.exploded", {})
    pipeline.pump()
    with pytest.raises(dlq.PurgeTooSoon):
        dlq.purge(target, "events")


def test_a_429_says_when_to_come_back(make_stack):
    # review 15: a throttled client had no Retry-After
    stack = make_stack(DeveloperRateLimit="1", DeveloperBurstLimit="1")
    key = stack.key()
    answers = [stack.call("GET", "/v1/events/types", key=key) for _ in range(3)]
    throttled = [answer for answer in answers if answer.status == 429]
    assert throttled, [answer.status for answer in answers]
    assert all(answer.headers.get("Retry-After") == "1" for answer in throttled)


def test_the_local_gateway_forgets_cached_authorizations_when_keys_revoke_flushes_it(stack):
    # review 6: locally a revoked key kept working for AuthorizerCacheSeconds
    key = stack.key()
    assert stack.call("GET", "/v1/events/types", key=key).status == 200
    assert ApiKeyStore().revoke("user_123", key)
    assert stack.call("GET", "/v1/events/types", key=key).status == 200  # cached, as API Gateway does
    flushed = stack.gateway.handle("DELETE", FLUSH_AUTHORIZER_CACHE_PATH, [], b"", "127.0.0.1")
    assert flushed.status == 204
    assert stack.call("GET", "/v1/events/types", key=key).status == 401
