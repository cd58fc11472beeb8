"""Delivery function on a batch of 10 posts to a receiver that answers after 200 ms, against the
same 10 posts made one after another, and a single post. Medians, side by side in one run.

    .venv/bin/python -m bench.delivery_batch
"""

import json
import uuid

from bench.common import in_process_stack, median_seconds
from events_core.api_keys import ApiKeyStore
from events_core.delivery.envelope import DeliveryMessage
from events_core.webhooks import service
from eventsapi.harness.receiver import Receiver

RECEIVER_DELAY = 0.2
BATCH = 10


def sqs_event(messages: list[DeliveryMessage], queue_arn: str) -> dict:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": str(uuid.uuid4()),
                "body": message.to_json(),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for message in messages
        ]
    }


def measure(repeats: int = 5) -> dict[str, float]:
    with (
        Receiver() as receiver,
        in_process_stack({"AllowHttpUrls": "true", "AllowedPrivateNetworks": "127.0.0.0/8"}) as stack,
    ):
        template, functions = stack.template, stack.functions
        receiver.behave("/slow", delay=RECEIVER_DELAY)
        ApiKeyStore().create("bench", ("read", "write"))
        hooks = [
            service.register("bench", {"event": "tool.executed", "url": receiver.url("/slow"), "secret": "s"})
            for _ in range(BATCH)
        ]
        deliver = functions["DeliverFunction"]
        queue_arn = template.physical["DeliveryQueue"].attributes["Arn"]

        def messages() -> list[DeliveryMessage]:
            event_id = str(uuid.uuid4())  # fresh ids: idempotency must not skip the posts
            return [
                DeliveryMessage(
                    f"msg_{uuid.uuid4().hex}",
                    hook.webhook_id,
                    "bench",
                    event_id,
                    "tool.executed",
                    "2026-04-12T08:00:00.000Z",
                    {"n": n},
                )
                for n, hook in enumerate(hooks)
            ]

        def run_batch() -> None:
            answer = deliver.invoke(sqs_event(messages(), queue_arn))
            assert answer == {"batchItemFailures": []}, json.dumps(answer)

        def run_one_by_one() -> None:
            for message in messages():
                assert deliver.invoke(sqs_event([message], queue_arn)) == {"batchItemFailures": []}

        def run_single() -> None:
            assert deliver.invoke(sqs_event(messages()[:1], queue_arn)) == {"batchItemFailures": []}

        fanout = functions["FanoutFunction"]
        bus_event = {
            "source": "cn.invoratec.platform",
            "detail-type": "tool.failed",
            "time": "2026-04-12T08:00:00Z",
            "detail": {"developerId": "bench", "data": {"toolName": "x"}},
        }

        def run_fanout() -> None:
            bodies = [json.dumps({**bus_event, "id": str(uuid.uuid4())}) for _ in range(BATCH)]
            event = {
                "Records": [
                    {**record, "body": body}
                    for record, body in zip(sqs_event(messages(), queue_arn)["Records"], bodies, strict=True)
                ]
            }
            assert fanout.invoke(event) == {"batchItemFailures": []}

        run_single()  # warm: module load, pools
        run_fanout()
        results = {
            "single": median_seconds(run_single, repeats),
            "batch": median_seconds(run_batch, repeats),
            "sequential": median_seconds(run_one_by_one, max(1, repeats // 2)),
            "fanout_batch": median_seconds(run_fanout, repeats),
        }
        expected_posts = 1 + repeats * (1 + BATCH) + max(1, repeats // 2) * BATCH
        assert len(receiver.at("/slow")) == expected_posts, "every post must have been made"
        return results


def rows(results: dict[str, float]) -> list[tuple[str, str]]:
    return [
        ("delivery: 1 post, 200 ms receiver (median)", f"{results['single'] * 1000:.0f} ms"),
        (f"delivery: batch of {BATCH}, concurrent (median)", f"{results['batch'] * 1000:.0f} ms"),
        (f"delivery: {BATCH} posts one after another (median)", f"{results['sequential'] * 1000:.0f} ms"),
        ("delivery: batch / single post", f"{results['batch'] / results['single']:.2f}x"),
        ("delivery: one-by-one / batch", f"{results['sequential'] / results['batch']:.1f}x faster"),
        (f"fan-out: batch of {BATCH} events (median)", f"{results['fanout_batch'] * 1000:.0f} ms"),
    ]


if __name__ == "__main__":
    measured = measure()
    print(json.dumps({"rows": rows(measured), "results": measured}))
