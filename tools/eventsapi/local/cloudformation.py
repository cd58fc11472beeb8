"""What CloudFormation answers to Ref and GetAtt for each resource of the template, worked out
offline (no emulator, no account), so template tests can compare resolved values — an alarm's
dimensions, a policy's resources — with what AWS really names and publishes. CloudFormation's
surprises are kept: a rule on a custom bus answers Ref with "bus|rule", a queue with its URL, a
topic with its ARN. It reads the transformed template, so SAM's generated roles, stage and
permissions are there as AWS creates them."""

from eventsapi.local.template import ACCOUNT_ID, Physical, Template, Unresolved


def _generated(template: Template, logical_id: str) -> str:
    """A CloudFormation-style generated name: stack-LogicalId-SUFFIX."""
    return f"{template.stack_name}-{logical_id}-0A1B2C3D4E5F"[:64]


NAMING_PROPERTIES = ("TableName", "QueueName", "Name", "EventBusName", "StageName", "LogGroupName", "TopicName")


def answer(template: Template, logical_id: str, kind: str, props: dict, name: str | None = None) -> Physical:
    """Ref and GetAtt of one resource, given its resolved naming properties (NAMING_PROPERTIES)."""
    region, arn = template.region, template.arn
    name = name or _generated(template, logical_id)
    if kind == "AWS::DynamoDB::Table":
        name = props.get("TableName", name)
        return Physical(name, {"Arn": arn("dynamodb", f"table/{name}")})
    if kind == "AWS::SQS::Queue":
        name = props.get("QueueName", name)
        url = f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{name}"
        return Physical(url, {"Arn": arn("sqs", name), "QueueName": name, "QueueUrl": url})
    if kind == "AWS::Events::EventBus":
        return Physical(props["Name"], {"Arn": arn("events", f"event-bus/{props['Name']}"), "Name": props["Name"]})
    if kind == "AWS::Events::Rule":
        name, bus = props.get("Name", name), props.get("EventBusName", "default")
        on_default = bus == "default"
        return Physical(
            name if on_default else f"{bus}|{name}",
            {"Arn": arn("events", f"rule/{name}" if on_default else f"rule/{bus}/{name}")},
        )
    if kind == "AWS::Lambda::Function":
        return Physical(name, {"Arn": arn("lambda", f"function:{name}")})
    if kind == "AWS::KMS::Key":
        key_id = "0ca1c0de-0000-4000-8000-00000000000k"
        return Physical(key_id, {"Arn": arn("kms", f"key/{key_id}"), "KeyId": key_id})
    if kind == "AWS::SNS::Topic":
        topic = arn("sns", props.get("TopicName", name))
        return Physical(topic, {"TopicArn": topic, "TopicName": name})
    if kind == "AWS::ApiGateway::RestApi":
        return Physical("a1b2c3d4e5", {"RootResourceId": "r00t00"})
    if kind == "AWS::ApiGateway::Stage":
        return Physical(props.get("StageName", name))
    if kind == "AWS::Logs::LogGroup":
        name = props.get("LogGroupName", name)
        return Physical(name, {"Arn": arn("logs", f"log-group:{name}:*")})
    if kind == "AWS::IAM::Role":
        return Physical(name, {"Arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}", "RoleId": "AROA0000"})
    return Physical(name)


def as_deployed(template: Template) -> Template:
    """Fill `template.physical` as a deploy of it would, and return the template."""
    pending = {k: v for k, v in template.resources.items() if k not in template.physical}
    while pending:
        progressed = False
        for logical_id, resource in list(pending.items()):
            kind = resource["Type"]
            try:
                # Only what names the resource needs resolving; the rest may point anywhere.
                props = {
                    key: template.resolve(value)
                    for key, value in resource.get("Properties", {}).items()
                    if key in NAMING_PROPERTIES
                }
            except Unresolved:
                continue
            template.physical[logical_id] = answer(template, logical_id, kind, props)
            del pending[logical_id]
            progressed = True
        if not progressed:
            raise RuntimeError(f"cannot resolve references among: {', '.join(sorted(pending))}")
    return template
