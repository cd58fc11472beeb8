"""Erasing a subject on `eventsapi run`: an event sent with `--subject user:42` to two webhooks and
a listen session, one delivery dead-lettered (410), then `eventsapi erase` — every table and queue
is read whole and none holds its payload or its receivers' answers, `--verify` holds, a second run
removes nothing, and another developer's `user:42` is untouched."""

import json
import uuid

import pytest
import requests

from eventsapi.harness.receiver import Receiver
from eventsapi.local.wiring import emulator_session
from tests.client import wait_for
from tests.e2e.conftest import start_stack, stop_stack
from tests.e2e.test_listen import start_listen, stop

SUBJECT = "user:42"


@pytest.fixture(scope="module")
def stack():
    running = start_stack()
    yield running
    stop_stack(running)


def call(stack, key: str, method: str, path: str, body: dict | None = None, expect: int = 200) -> dict:
    answer = requests.request(method, f"{stack.api_url}{path}", json=body, headers={"X-API-Key": key}, timeout=60)
    assert answer.status_code == expect, answer.text
    return answer.json() if answer.content else {}


def send(stack, developer: str, marker: str, *subjects: str) -> None:
    data = {"toolName": "erase_e2e", "input": {"note": marker}, "result": {}, "elapsed_ms": 1}
    flags = [flag for subject in subjects for flag in ("--subject", subject)]
    sent = stack.eventsapi(
        "events", "send", "tool.executed", "--developer", developer, "--data", json.dumps(data), *flags
    )
    assert sent.returncode == 0, sent.stderr


def everything(stack) -> str:
    """Every item of every table and every message of every queue, as one text (a test may Scan)."""
    session = emulator_session()
    dynamodb = session.client("dynamodb", endpoint_url=stack.endpoint)
    sqs = session.client("sqs", endpoint_url=stack.endpoint)
    found: list[str] = []
    for name in dynamodb.list_tables()["TableNames"]:
        for page in dynamodb.get_paginator("scan").paginate(TableName=name):
            found += [json.dumps(item) for item in page["Items"]]
    for url in sqs.list_queues().get("QueueUrls", []):
        received: list[dict] = []  # each hidden until all are read, then shown again
        while messages := sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60, MessageAttributeNames=["All"]
        ).get("Messages", []):
            received += messages
            found += [m["Body"] + json.dumps(m.get("MessageAttributes", {})) for m in messages]
        for start in range(0, len(received), 10):
            sqs.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for n, m in enumerate(received[start : start + 10])
                ],
            )
    return "\n".join(found)


def test_erase_reaches_every_store_proves_it_and_leaves_others_alone(stack, tmp_path):
    marker, answer, other_marker = (f"{name}-{uuid.uuid4().hex}" for name in ("payload", "answer", "other"))
    other = stack.eventsapi("--local", "keys", "create", "--developer", "user_erase_other", "--scopes", "read,write")
    assert other.returncode == 0, other.stderr
    other_key = other.stdout.strip().splitlines()[-1]
    with Receiver() as receiver:
        ok_url = receiver.behave("/ok", body=answer.encode())
        gone_url = receiver.behave("/gone", status=410, body=answer.encode())
        receiver.behave("/listen", body=answer.encode())
        for url in (ok_url, gone_url):
            call(stack, stack.key, "POST", "/v1/events/webhooks", {"event": "tool.executed", "url": url}, 201)
        other_url = receiver.behave("/other", body=b"fine")
        call(stack, other_key, "POST", "/v1/events/webhooks", {"event": "tool.executed", "url": other_url}, 201)
        cli = start_listen(stack, stack.api_url, "--forward-to", receiver.url("/listen"), "--events", "tool.executed")
        try:
            ready = cli.stderr.readline()  # type: ignore[union-attr]
            assert ready.startswith("Ready! session "), ready
            send(stack, "user_erase_other", other_marker, SUBJECT)
            send(stack, "user_123", marker, SUBJECT, "user:7")
            wait_for(lambda: all(receiver.at(path) for path in ("/ok", "/gone", "/listen", "/other")), seconds=60)
            wait_for(lambda: _dead_letters(stack), seconds=30)
            # Kept as attempts' excerpts: the two webhooks' and the one the listening CLI reported.
            wait_for(lambda: everything(stack).count(answer) >= 3, seconds=30)
        finally:
            assert stop(cli) == 0, cli.stderr.read()  # type: ignore[union-attr]

    held = everything(stack)
    assert marker in held and answer in held and other_marker in held  # the stores did hold them

    receipt_path = tmp_path / "receipt.json"
    erased = stack.eventsapi(
        "--local", "erase", "--developer", "user_123", "--subject", SUBJECT, "--out", str(receipt_path)
    )
    assert erased.returncode == 0, erased.stdout + erased.stderr
    receipt = json.loads(erased.stdout)
    assert receipt["removed"]["PayloadsTable"] == {"payloads": 1}
    assert receipt["removed"]["DeliveriesTable"]["records marked erased"] == 3  # two webhooks and the session
    assert receipt["removed"]["DeliveryDeadLetterQueue"] == {"messages removed": 1}
    assert receipt["erasedEvents"] == 1 and receipt["digest"].startswith("sha256:")
    assert SUBJECT not in erased.stdout, "the receipt names the subject by its hash only"
    assert {entry["kind"] for entry in receipt["untilExpiry"]} >= {"log-group", "queue"}

    after = everything(stack)
    assert marker not in after, "a store still holds the erased payload"
    assert answer not in after, "a store still holds a receiver's answer"
    assert other_marker in after, "another developer's user:42 was touched"

    verified = stack.eventsapi("--local", "erase", "--verify", str(receipt_path))
    assert verified.returncode == 0 and "receipt holds" in verified.stdout, verified.stdout + verified.stderr

    again = stack.eventsapi("--local", "erase", "--developer", "user_123", "--subject", SUBJECT)
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert second["removed"] == {} and second["digest"] == receipt["digest"], "the second run finds nothing"

    webhooks = call(stack, stack.key, "GET", "/v1/events/webhooks")["webhooks"]
    for webhook in webhooks:
        listed = call(stack, stack.key, "GET", f"/v1/events/webhooks/{webhook['id']}/deliveries")["deliveries"]
        for delivery in listed:
            shown = call(
                stack, stack.key, "GET", f"/v1/events/webhooks/{webhook['id']}/deliveries/{delivery['deliveryId']}"
            )
            assert shown["erased"] is True and shown["payload"] is None
            assert all(not attempt["responseExcerpt"] for attempt in shown["attempts"])


def _dead_letters(stack) -> bool:
    listed = stack.eventsapi("--local", "dlq", "list", "--queue", "delivery")
    return listed.returncode == 0 and "msg_" in listed.stdout
