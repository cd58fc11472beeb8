"""Shared pieces of the benchmarks: the in-process stack (the same setup the tests use), the
template as deployed (parsed once), and the SQS event Lambda hands a queue-triggered function."""

import functools
import uuid

from eventsapi.local.inprocess import in_process_stack
from eventsapi.local.template import Template
from eventsapi.local.wiring import REGION, STACK_NAME, TEMPLATE

__all__ = ["READS", "WRITES", "in_process_stack", "sqs_event", "template"]

# DynamoDB operations by what they are billed as (write or read request units).
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
READS = frozenset({"GetItem", "BatchGetItem", "Query"})


@functools.cache
def template() -> Template:
    """template.yaml with its defaults: what a deployment without overrides gets."""
    return Template(TEMPLATE, stack_name=STACK_NAME, region=REGION)


def sqs_event(bodies: list[str], queue_arn: str = "arn") -> dict:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": str(uuid.uuid4()),
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for body in bodies
        ]
    }
