"""Before `sam deploy`: what would make CloudFormation fail or leave the service unsafe, found in
the account first — the SAM transform CloudFormation runs (a template it refuses, in its words),
the parameters' constraints and the template's Rules on the chosen parameters, a bus retained by
an earlier stack under the name this one would create, an account without API Gateway's CloudWatch
role when the stack is told one exists, an adopted table without the indexes, TTL or point-in-time
recovery the template declares, and a Lambda concurrency quota too small for the event
sources and reservations asked for (new accounts start below 1,000)."""

from dataclasses import dataclass

from botocore.exceptions import ClientError

from eventsapi.admin.target import Target
from eventsapi.deploy import transform as sam_transform
from eventsapi.deploy.evaluate import Deployment
from eventsapi.local.template import Template

UNRESERVED_FLOOR = 100  # Lambda keeps this much of an account's concurrency unreserved


@dataclass(frozen=True)
class Finding:
    blocking: bool
    message: str

    def __str__(self) -> str:
        return f"{'ERROR' if self.blocking else 'note '}  {self.message}"


def _stack_owns(target: Target, stack_name: str, logical_id: str) -> bool:
    try:
        target.client("cloudformation").describe_stack_resource(StackName=stack_name, LogicalResourceId=logical_id)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ValidationError":  # no such stack or resource
            return False
        raise
    return True


def retained_bus(target: Target, template: Template, stack_name: str) -> Finding | None:
    if template.parameters["ExistingEventBusName"]:
        return None
    name = template.parameters["EventBusName"]
    try:
        target.client("events").describe_event_bus(Name=name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise
    if _stack_owns(target, stack_name, "PlatformEventBus"):
        return None
    return Finding(
        True,
        f"event bus {name!r} already exists (retained by an earlier stack, or another stack's): the deploy"
        f" would fail creating it. Deploy with ExistingEventBusName={name} to adopt it.",
    )


def given(template: Template) -> dict[str, str]:
    """The parameters as sam deploy would pass them (the local Template resolved their values)."""
    declared = sam_transform.load_yaml(template.path)["Parameters"]
    values = {name: value for name, value in template.parameters.items() if name in declared}
    return {name: ",".join(v) if isinstance(v, list) else str(v) for name, v in values.items()}


def transformed(template: Template) -> tuple[dict | None, list[Finding]]:
    """The transformed template for these parameters, or the translator's refusal; then the
    parameters' constraints and the Rules, judged on it as CloudFormation judges them."""
    parameters = given(template)
    try:
        cfn = sam_transform.transform_file(template.path, parameters)
    except sam_transform.TransformRejected as rejected:
        return None, [Finding(True, f"the SAM transform refuses the template: {rejected}")]
    return cfn, [Finding(True, refusal) for refusal in Deployment(cfn, parameters).refusals()]


def api_functions(cfn: dict) -> int:
    """Functions that reserve ApiReservedConcurrency each, counted in what AWS creates (the translator
    keeps the !If of the condition, so they are counted whether or not the parameter reserves)."""
    return sum(
        1
        for spec in cfn["Resources"].values()
        if spec["Type"] == "AWS::Lambda::Function"
        and "ApiReservedConcurrency" in str(spec["Properties"].get("ReservedConcurrentExecutions", ""))
    )


def gateway_account_role(target: Target, template: Template) -> Finding | None:
    """ApiGatewayAccountRole=existing on an account with no CloudWatch role: the stage's access logs
    cannot be set and the deploy fails creating it."""
    if template.parameters.get("ApiGatewayAccountRole") != "existing":
        return None
    if target.client("apigateway").get_account().get("cloudwatchRoleArn"):
        return None
    return Finding(
        True,
        "ApiGatewayAccountRole=existing, but this account's API Gateway has no CloudWatch role (get-account):"
        " the stage's access logs would fail. Deploy with ApiGatewayAccountRole=create.",
    )


def concurrency(target: Target, template: Template, cfn: dict | None = None) -> list[Finding]:
    settings = target.client("lambda").get_account_settings()
    quota = int(settings["AccountLimit"]["ConcurrentExecutions"])
    p = {name: int(float(value)) for name, value in template.parameters.items() if name.endswith("Concurrency")}
    if cfn is None:
        cfn = sam_transform.transform_file(template.path, given(template))
    api_functions_count = api_functions(cfn)
    reserved = max(0, p["ApiReservedConcurrency"]) * api_functions_count + max(0, p["AuthorizerReservedConcurrency"])
    findings = []
    if reserved and quota - reserved < UNRESERVED_FLOOR:
        findings.append(
            Finding(
                True,
                f"reserving {reserved} leaves {quota - reserved} of the account's {quota}; Lambda keeps"
                f" {UNRESERVED_FLOOR} unreserved. Request a higher 'Concurrent executions' quota first.",
            )
        )
    sources = p["FanoutMaxConcurrency"] + p["DeliveryMaxConcurrency"]
    if sources + UNRESERVED_FLOOR > quota:
        findings.append(
            Finding(
                False,
                f"the event sources may use {sources} of the account's {quota} concurrent executions; a"
                " delivery burst can throttle the API. Request the quota (Service Quotas, Lambda).",
            )
        )
    return findings


def adopted_tables(target: Target, template: Template, stack_name: str) -> list[Finding]:
    """An adopted table lacking an index, TTL or point-in-time recovery the template declares: the
    code that needs it would fail on it (CloudFormation changes nothing of an adopted table)."""
    from eventsapi.admin import tables

    return [
        Finding(True, f"adopted {gap}: `eventsapi --stack {stack_name} admin tables upgrade` with these --param")
        for gap in tables.gaps(target.client("dynamodb"), template)
    ]


def check(target: Target, template: Template, stack_name: str) -> list[Finding]:
    cfn, findings = transformed(template)
    for found in (retained_bus(target, template, stack_name), gateway_account_role(target, template)):
        if found:
            findings.append(found)
    findings += adopted_tables(target, template, stack_name)
    if cfn is None:
        return findings
    return findings + concurrency(target, template, cfn)
