"""An alarm reaches a person (deploy review N1, N3): a temporary SQS queue subscribes to the
stack's alarm topic, `eventsapi alarms probe` sets an alarm to ALARM, and its notification must
arrive. Deployed stacks only: the local stack has no CloudWatch."""

import json
import secrets
import time

import pytest

from tests.deployed.conftest import Deployment

pytestmark = pytest.mark.deployed


def test_an_alarm_notification_arrives_at_a_subscriber(deployment: Deployment):
    if deployment.stack is None:
        pytest.skip("the local stack has no CloudWatch alarms")
    session = deployment.session
    described = session.client("cloudformation").describe_stacks(StackName=deployment.stack)["Stacks"][0]
    topic = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}["AlarmTopic"]
    sqs, sns = session.client("sqs"), session.client("sns")
    url = sqs.create_queue(QueueName=f"{deployment.stack}-alarm-probe-{secrets.token_hex(3)}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
            }
        ]
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    subscription = sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    try:
        done = deployment.eventsapi("alarms", "probe")
        assert done.returncode == 0, done.stderr
        alarm = done.stdout.split()[0]
        deadline, bodies = time.monotonic() + 120, []
        while time.monotonic() < deadline:
            messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20).get("Messages", [])
            bodies += [m["Body"] for m in messages]
            if any(alarm in body and "ALARM" in body for body in bodies):
                return
        pytest.fail(f"no notification for {alarm} within 120 s: {bodies}")
    finally:
        sns.unsubscribe(SubscriptionArn=subscription)
        sqs.delete_queue(QueueUrl=url)
