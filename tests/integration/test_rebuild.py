"""README "Rebuilding on retained data", walked on the local stack (deploy review N8, N10): a stack
is deleted — everything but what it retains — and a new stack is deployed on the retained bus,
tables and key through the Existing… parameters. The old developers' keys still work, and the old
webhooks still deliver, signed with their old secrets."""

import json

import boto3

from eventsapi.admin.target import Target
from eventsapi.local.template import Template
from eventsapi.local.wiring import REGION, TEMPLATE, event_sources, stand_up
from tests.builders import Answer
from tests.conftest import LOCAL_DELIVERY
from tests.reference.verify import verify

SECRET = "whsec_kept-across-the-rebuild-0123456789"


def delete_stack_keeping_what_it_retains(template: Template) -> None:
    """What `sam delete` does: every resource goes, except those with DeletionPolicy Retain."""
    sqs, events = boto3.client("sqs", region_name=REGION), boto3.client("events", region_name=REGION)
    for logical_id, resource in template.resources.items():
        if resource.get("DeletionPolicy") == "Retain":
            continue
        physical = template.physical[logical_id]
        if resource["Type"] == "AWS::SQS::Queue":
            sqs.delete_queue(QueueUrl=physical.ref)
        elif resource["Type"] == "AWS::Events::Rule":
            if "ScheduleExpression" in resource.get("Properties", {}):
                continue  # a schedule is the local runtime's timer, not a rule on the emulator
            bus, _, rule = physical.ref.partition("|")
            targets = events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]
            events.remove_targets(Rule=rule, EventBusName=bus, Ids=[t["Id"] for t in targets])
            events.delete_rule(Name=rule, EventBusName=bus)
        elif resource["Type"] == "AWS::DynamoDB::Table":
            boto3.client("dynamodb", region_name=REGION).delete_table(TableName=physical.ref)


def test_a_rebuilt_stack_serves_the_old_keys_and_webhooks_with_their_old_secrets(make_pipeline, receiver):
    old = make_pipeline(**LOCAL_DELIVERY)
    key = old.stack.key("loyal_dev")
    hook = old.webhook(key, receiver.url("/kept"), secret=SECRET)
    outputs = Target.of_template(old.stack.template, boto3.Session(region_name=REGION)).outputs

    delete_stack_keeping_what_it_retains(old.stack.template)

    # The runbook's parameters: each retained resource by the output the old stack gave.
    adopted = {
        "ExistingEventBusName": outputs["EventBusName"],
        "ExistingSecretsKeyArn": outputs["SecretsKeyArn"],
        "ExistingWebhooksTableName": outputs["WebhooksTableName"],
        "ExistingApiLogsTableName": outputs["ApiLogsTableName"],
        "ExistingApiKeysTableName": outputs["ApiKeysTableName"],
        "ExistingDeliveriesTableName": outputs["DeliveriesTableName"],
        "ExistingIdempotencyTableName": outputs["IdempotencyTableName"],
        "ExistingPayloadsTableName": outputs["PayloadsTableName"],
        "ExistingListenTableName": outputs["ListenTableName"],
        "ExistingControlTableName": outputs["ControlTableName"],
    }
    new = Template(TEMPLATE, stack_name="events-api-rebuilt", region=REGION, overrides={**LOCAL_DELIVERY, **adopted})
    assert not {"PlatformEventBus", "SecretsKey", "WebhooksTable", "DeliveriesTable"} & set(new.resources)
    functions, gateway = stand_up(new)

    answer = gateway.handle("GET", f"/v1/events/webhooks/{hook['id']}", [("X-API-Key", key)], b"", "127.0.0.1")
    assert Answer(answer.status, answer.headers, answer.body).json["url"] == hook["url"]

    boto3.client("events", region_name=REGION).put_events(
        Entries=[
            {
                "EventBusName": outputs["EventBusName"],
                "Source": "cn.invoratec.platform",
                "DetailType": "tool.executed",
                "Detail": json.dumps({"developerId": "loyal_dev", "data": {"after": "rebuild"}}),
            }
        ]
    )
    sources = event_sources(new, functions, boto3.client("sqs", region_name=REGION))
    for _ in range(20):
        if not sum(source.poll_once() for source in sources):
            break
    [post] = receiver.at("/kept")
    assert verify(post.body, post.headers["X-Webhook-Signature"], SECRET)
