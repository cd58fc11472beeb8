"""Before `sam deploy`: what would make CloudFormation fail or leave the service unsafe, found in
the account first — the template's Rules on the chosen parameters, a bus retained by an earlier
stack under the name this one would create, and a Lambda concurrency quota too small for the event
sources and reservations asked for (new accounts start below 1,000)."""

from dataclasses import dataclass

from botocore.exceptions import ClientError

from eventsapi.admin.target import Target
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


def concurrency(target: Target, template: Template) -> list[Finding]:
    settings = target.client("lambda").get_account_settings()
    quota = int(settings["AccountLimit"]["ConcurrentExecutions"])
    p = {name: int(float(value)) for name, value in template.parameters.items() if name.endswith("Concurrency")}
    api_functions = sum(
        1
        for logical_id in template.function_logical_ids()
        if logical_id not in ("AuthorizerFunction", "FanoutFunction", "DeliverFunction")
    )
    reserved = max(0, p["ApiReservedConcurrency"]) * api_functions + max(0, p["AuthorizerReservedConcurrency"])
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


def check(target: Target, template: Template, stack_name: str) -> list[Finding]:
    findings = [Finding(True, broken) for broken in template.broken_rules()]
    bus = retained_bus(target, template, stack_name)
    if bus:
        findings.append(bus)
    return findings + concurrency(target, template)
