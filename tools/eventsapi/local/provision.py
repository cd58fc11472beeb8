"""Creates the template's tables, queues, buses and rules in the emulator (or any AWS endpoint the
clients point at), so the local stack has exactly what the template declares."""

import json
import logging
from collections.abc import Callable
from typing import Any

import boto3

from eventsapi.local.cloudformation import NAMING_PROPERTIES, answer
from eventsapi.local.template import Physical, Template, Unresolved

log = logging.getLogger("eventsapi.local.provision")

# Declared for AWS but inert locally: IAM, policies, alarms, logs, tracing and API Gateway's own
# resources. The gateway and the SQS event sources read what they need of theirs from the template.
_NOT_EMULATED = {
    "AWS::SQS::QueuePolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::SNS::Topic",
    "AWS::SNS::Subscription",
    "AWS::Logs::LogGroup",
    # CloudWatch Logs subscriptions are delivered by eventsapi.local.access_logs instead.
    "AWS::Logs::SubscriptionFilter",
    "AWS::Logs::Destination",
    "AWS::Lambda::Permission",
    "AWS::Kinesis::Stream",
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::ApiGateway::Account",
    "AWS::ApiGateway::UsagePlan",
    "AWS::XRay::SamplingRule",
    "AWS::Lambda::EventSourceMapping",
    "AWS::Lambda::EventInvokeConfig",
    # The local gateway serves the RestApi's OpenAPI body and its stage; the layer's code is installed.
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Stage",
    "AWS::Lambda::LayerVersion",
}


class Provisioner:
    def __init__(self, template: Template, session: boto3.Session | None = None, *, create: bool = True):
        """With create=False, attach to resources that already exist (a running local stack)."""
        self.template = template
        self.create = create
        session = session or boto3.Session(region_name=template.region)
        self.dynamodb = session.client("dynamodb")
        self.sqs = session.client("sqs")
        self.events = session.client("events")
        self.kms = session.client("kms")

    def provision(self) -> dict[str, Physical]:
        creators: dict[str, Callable[[str, dict], Physical]] = {
            "AWS::DynamoDB::Table": self._table,
            "AWS::SQS::Queue": self._queue,
            "AWS::Events::EventBus": self._bus,
            "AWS::Events::Rule": self._rule,
            "AWS::Lambda::Function": self._function,
            "AWS::KMS::Key": self._kms_key,
        }
        pending = dict(self.template.resources)
        while pending:
            progressed = False
            for logical_id, resource in list(pending.items()):
                creator = creators.get(resource["Type"])
                if creator is None and resource["Type"] not in _NOT_EMULATED:
                    raise ValueError(f"{logical_id}: {resource['Type']} is neither emulated locally nor declared inert")
                try:
                    physical = (
                        creator(logical_id, resource.get("Properties", {}))
                        if creator
                        else self._inert(logical_id, resource["Type"], resource.get("Properties", {}))
                    )
                except Unresolved:
                    continue
                if not creator:
                    log.debug("inert locally: %s (%s)", logical_id, resource["Type"])
                self.template.physical[logical_id] = physical
                del pending[logical_id]
                progressed = True
            if not progressed:
                raise RuntimeError(f"cannot resolve references among: {', '.join(sorted(pending))}")
        return self.template.physical

    def _inert(self, logical_id: str, kind: str, props: dict) -> Physical:
        """Not created locally, but answering Ref and GetAtt as AWS would (an access log's ARN, say)."""
        naming = {key: self.template.resolve(props[key]) for key in NAMING_PROPERTIES if key in props}
        return answer(self.template, logical_id, kind, naming, name=self.template.physical_name(logical_id))

    def _table(self, logical_id: str, props: dict) -> Physical:
        props = self.template.resolve(props)
        name = props.get("TableName") or self.template.physical_name(logical_id)
        request: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if not self.create:
            return Physical(ref=name, attributes={"Arn": self.template.arn("dynamodb", f"table/{name}")})
        self.dynamodb.create_table(**request)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            self.dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
            )
        return Physical(ref=name, attributes={"Arn": self.template.arn("dynamodb", f"table/{name}")})

    def _queue(self, logical_id: str, props: dict) -> Physical:
        props = self.template.resolve(props)
        name = props.get("QueueName") or self.template.physical_name(logical_id)
        attributes = {
            key: json.dumps(value) if isinstance(value, dict) else str(value)
            for key, value in props.items()
            if key
            in (
                "VisibilityTimeout",
                "MessageRetentionPeriod",
                "DelaySeconds",
                "ReceiveMessageWaitTimeSeconds",
                "RedrivePolicy",
                "MaximumMessageSize",
            )
        }
        url = (
            self.sqs.create_queue(QueueName=name, Attributes=attributes)
            if self.create
            else self.sqs.get_queue_url(QueueName=name)
        )["QueueUrl"]
        arn = self.template.arn("sqs", name)
        return Physical(ref=url, attributes={"Arn": arn, "QueueName": name, "QueueUrl": url})

    def _bus(self, logical_id: str, props: dict) -> Physical:
        name = self.template.resolve(props["Name"])
        arn = (self.events.create_event_bus(Name=name) if self.create else self.events.describe_event_bus(Name=name))[
            "EventBusArn" if self.create else "Arn"
        ]
        return Physical(ref=name, attributes={"Arn": arn, "Name": name})

    def _rule(self, logical_id: str, props: dict) -> Physical:
        props = self.template.resolve(props)
        name = props.get("Name") or self.template.physical_name(logical_id)[:64]
        bus = props.get("EventBusName", "default")
        # As CloudFormation answers Ref: "bus|rule" for a rule on a custom bus, the name on the default.
        physical = Physical(
            ref=name if bus == "default" else f"{bus}|{name}",
            attributes={"Arn": self.template.arn("events", f"rule/{bus}/{name}")},
        )
        if not self.create or "ScheduleExpression" in props:
            return physical  # a schedule's timer is the local runtime's (eventsapi.local.schedules)
        self._ensure_bus(bus)
        self.events.put_rule(
            Name=name,
            EventBusName=bus,
            EventPattern=json.dumps(props["EventPattern"]),
            State=props.get("State", "ENABLED"),
        )
        targets = [{"Id": target["Id"], "Arn": target["Arn"]} for target in props.get("Targets", [])]
        if targets:
            self.events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        return physical

    def _ensure_bus(self, bus: str) -> None:
        """A rule on an existing bus (ExistingEventBusName): locally, the platform's bus is ours to make."""
        if bus == "default":
            return
        try:
            self.events.describe_event_bus(Name=bus)
        except self.events.exceptions.ResourceNotFoundException:
            self.events.create_event_bus(Name=bus)

    def _kms_key(self, logical_id: str, props: dict) -> Physical:
        alias = f"alias/{self.template.physical_name(logical_id)}"
        if self.create:
            key = self.kms.create_key(Description=str(self.template.resolve(props.get("Description", ""))))
            metadata = key["KeyMetadata"]
            self.kms.create_alias(AliasName=alias, TargetKeyId=metadata["KeyId"])
        else:
            metadata = self.kms.describe_key(KeyId=alias)["KeyMetadata"]
        return Physical(ref=metadata["KeyId"], attributes={"Arn": metadata["Arn"], "KeyId": metadata["KeyId"]})

    def _function(self, logical_id: str, props: dict) -> Physical:
        name = self.template.physical_name(logical_id)
        return Physical(ref=name, attributes={"Arn": self.template.arn("lambda", f"function:{name}")})
