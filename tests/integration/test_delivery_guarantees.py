"""What delivery promises whatever goes wrong around it: exactly one first post, nothing lost, back-off
inside SQS's limits, a dead receiver never filling the queue's in-flight limit."""

import dataclasses
import json
import threading
import time

import pytest
from botocore.exceptions import ClientError

from events_core.delivery import queues, worker
from events_core.records.message import DeliveryMessage, Trigger
from events_core.records.store import DeliveryStore
from events_core.secrets import SecretBox
from events_core.webhooks.repository import WebhookRepository

DATA = {"toolName": "erp_get_inventory", "elapsed_ms": 230}


def throttled(*_, **__):
    raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "Write")


def one_delivery_message(pipeline) -> dict:
    """Fan the published event out and take its delivery message off the queue (received, not deleted)."""
    pipeline.source("FanoutFunction").poll_once()
    [message] = pipeline.sqs.receive_message(
        QueueUrl=pipeline.physical("DeliveryQueue"), MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    )["Messages"]
    return message


def deliver(pipeline, *bodies: str, remaining_ms: int = 30_000) -> dict:
    records = [{"messageId": f"m{n}", "receiptHandle": f"r{n}", "body": body} for n, body in enumerate(bodies)]
    return worker.handle_batch(records, lambda: remaining_ms, received_at=0)


def test_a_copy_arriving_while_the_first_is_being_posted_is_never_posted(pipeline, receiver):
    """An SQS duplicate (or a fan-out re-run) while the post is in flight: the lease turns it away, and
    back in the queue it later finds the attempt made."""
    receiver.behave("/slow", delay=0.6)
    pipeline.webhook(pipeline.stack.key(), receiver.url("/slow"))
    pipeline.publish("user_123", "tool.executed", DATA)
    body = one_delivery_message(pipeline)["Body"]
    first = threading.Thread(target=deliver, args=(pipeline, body))
    first.start()
    time.sleep(0.3)
    assert deliver(pipeline, body) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}  # busy: given back
    first.join()
    assert deliver(pipeline, body) == {"batchItemFailures": []}  # done: dropped as a duplicate
    assert len(receiver.at("/slow")) == 1


def test_the_same_message_twice_in_one_batch_is_posted_once(pipeline, receiver):
    """Two copies handled at the same moment, in one batch: one takes the lease, the other is given back."""
    pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    pipeline.publish("user_123", "tool.executed", DATA)
    body = one_delivery_message(pipeline)["Body"]
    answer = deliver(pipeline, body, body)
    assert len(receiver.at("/hook")) == 1 and len(answer["batchItemFailures"]) <= 1
    assert deliver(pipeline, body) == {"batchItemFailures": []}
    assert len(receiver.at("/hook")) == 1


def test_a_redelivered_message_after_success_is_not_posted_again(pipeline, receiver):
    pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    pipeline.publish("user_123", "tool.executed", DATA)
    body = one_delivery_message(pipeline)["Body"]
    for _ in range(3):
        assert deliver(pipeline, body) == {"batchItemFailures": []}
    assert len(receiver.at("/hook")) == 1


@pytest.mark.parametrize("failing", ["records", "counters", "both"])
def test_bookkeeping_that_fails_after_a_2xx_never_causes_a_second_post(pipeline, receiver, monkeypatch, failing):
    if failing in ("records", "both"):
        monkeypatch.setattr(DeliveryStore, "save", throttled)
    if failing in ("counters", "both"):
        monkeypatch.setattr(WebhookRepository, "record_success", throttled)
    pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    pipeline.publish("user_123", "tool.executed", DATA)
    pipeline.pump()
    assert len(receiver.at("/hook")) == 1
    assert pipeline.queue_depth("DeliveryQueue") == {"Messages": 0, "MessagesNotVisible": 0, "MessagesDelayed": 0}


def test_a_crash_before_the_post_loses_nothing(pipeline, receiver, monkeypatch):
    pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    pipeline.publish("user_123", "tool.executed", DATA)
    body = one_delivery_message(pipeline)["Body"]
    monkeypatch.setattr(SecretBox, "signing_secrets", throttled)  # KMS down: the attempt cannot start
    assert deliver(pipeline, body) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert receiver.received == []
    monkeypatch.undo()
    # The message returns; its lease (taken before the crash) must lapse first, then it posts once.
    store = DeliveryStore()
    [record] = pipeline.records()
    store.table.update_item(
        Key={"webhookKey": record["webhookKey"], "deliveryId": record["deliveryId"]},
        UpdateExpression="SET leaseUntil = :past",
        ExpressionAttributeValues={":past": 0},
    )
    assert deliver(pipeline, body) == {"batchItemFailures": []}
    assert len(receiver.at("/hook")) == 1


def test_a_message_the_invocation_has_no_time_for_is_given_back_unposted(pipeline, receiver, monkeypatch):
    hidden = []
    monkeypatch.setattr(queues, "hide", lambda url, handle, seconds, received_at: hidden.append(seconds))
    pipeline.webhook(pipeline.stack.key(), receiver.url("/hook"))
    pipeline.publish("user_123", "tool.executed", DATA)
    body = one_delivery_message(pipeline)["Body"]
    assert deliver(pipeline, body, remaining_ms=3000) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert receiver.received == [] and hidden == [0]


def test_a_dead_receiver_never_fills_the_in_flight_limit(make_pipeline, receiver):
    """Back-off waits as delayed messages, not as received-and-hidden ones: SQS's in-flight limit
    (about 120,000 for a standard queue) counts only the latter."""
    pipeline = make_pipeline(RetrySchedule="600,600", RetryDelayScale="1", FailureThreshold="1000")
    pipeline.webhook(pipeline.stack.key(), receiver.behave("/down", status=503))
    for n in range(30):
        pipeline.publish("user_123", "tool.executed", {"n": n})
    pipeline.pump()
    assert len(receiver.at("/down")) == 30
    assert pipeline.queue_depth("DeliveryQueue") == {"Messages": 0, "MessagesNotVisible": 0, "MessagesDelayed": 30}


def test_a_wait_longer_than_sqs_can_delay_hops_until_it_is_due(make_pipeline, receiver, monkeypatch):
    pipeline = make_pipeline(RetrySchedule="7200", RetryDelayScale="1")
    sent: list[queues.Outgoing] = []
    real = queues.send_all

    def no_wait(url, messages, client=None):
        sent.extend(messages)
        return real(url, [dataclasses.replace(m, delay=0) for m in messages], client)

    monkeypatch.setattr(queues, "send_all", no_wait)
    pipeline.webhook(pipeline.stack.key(), receiver.behave("/down", status=503))
    pipeline.publish("user_123", "tool.executed", DATA)
    pipeline.source("FanoutFunction").poll_once()
    pipeline.source("DeliverFunction").poll_once()  # attempt 1 fails: attempt 2 is due in about 2 h
    retry = DeliveryMessage.from_json(sent[-1].body)
    assert (retry.attempt, retry.trigger, sent[-1].delay) == (2, Trigger.RETRY, sent[-1].delay)
    assert sent[-1].delay > queues.MAX_DELAY_SECONDS and retry.not_before_ms > 0
    pipeline.source("DeliverFunction").poll_once()  # it comes back early (we cut the delay): it hops on
    hop = DeliveryMessage.from_json(sent[-1].body)
    assert hop == retry and 0 < sent[-1].delay <= 7200 * 1.2 + 1
    assert len(receiver.at("/down")) == 1, "no post before it is due"


def test_a_lost_webhook_disabled_alert_is_sent_with_the_next_post(pipeline, receiver, monkeypatch):
    key = pipeline.stack.key()
    gone = pipeline.webhook(key, receiver.behave("/gone", status=410))
    pipeline.webhook(key, receiver.url("/alerts"), event="alert.triggered")
    real = queues.publish_event
    monkeypatch.setattr(queues, "publish_event", throttled)
    pipeline.publish("user_123", "tool.executed", DATA)
    pipeline.pump()
    assert receiver.at("/alerts") == [] and pipeline.listed(key)[gone["id"]]["enabled"] is False
    monkeypatch.setattr(queues, "publish_event", real)
    pipeline.publish("user_123", "tool.executed", DATA)  # queued for the disabled webhook (cache or race)
    pipeline.stack.table("WebhooksTable").update_item(  # make the fan-out still see it, as a cache would
        Key={"developerId": "user_123", "webhookId": gone["id"]},
        UpdateExpression="SET activeKey = :k",
        ExpressionAttributeValues={":k": "user_123#tool.executed"},
    )
    pipeline.publish("user_123", "tool.executed", DATA)
    pipeline.pump()
    [alert] = receiver.at("/alerts")
    assert json.loads(alert.body)["data"]["webhookId"] == gone["id"]


def test_an_operator_redrive_posts_once_more_and_only_once(make_pipeline, receiver):
    pipeline = make_pipeline(RetrySchedule="0")
    hook = pipeline.webhook(pipeline.stack.key(), receiver.behave("/flaky", status=500))
    pipeline.publish("user_123", "tool.executed", DATA)
    pipeline.pump()
    [dead] = pipeline.dead_letters("DeliveryDeadLetterQueue")
    receiver.behave("/flaky", status=200)
    for _ in range(2):  # moved back twice by mistake (one after the other: see the copy-in-flight test)
        pipeline.sqs.send_message(QueueUrl=pipeline.physical("DeliveryQueue"), MessageBody=dead["body"])
        pipeline.pump()
    posts = receiver.at("/flaky")
    assert [p.answered for p in posts] == [500, 500, 200]
    [record] = pipeline.records(hook["id"])
    assert record["status"] == "succeeded" and [a["trigger"] for a in record["attempts"]] == [
        "first",
        "retry",
        "redrive",
    ]


def test_a_malformed_delivery_message_rests_in_the_dead_letter_queue(pipeline):
    pipeline.sqs.send_message(QueueUrl=pipeline.physical("DeliveryQueue"), MessageBody='{"delivery_id": 7}')
    pipeline.pump()
    [dead] = pipeline.dead_letters("DeliveryDeadLetterQueue")
    assert dead["reason"].startswith("malformed delivery message")
