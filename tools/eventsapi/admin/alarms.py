"""Prove that an alarm reaches a person: set one of the stack's alarms to ALARM by hand
(`set-alarm-state`), so its action publishes to the alarm topic now. CloudWatch puts the alarm back
on its next evaluation."""

from eventsapi.admin.target import Target

PROBE_REASON = "eventsapi alarms probe: a test notification; no action needed"


def stack_alarms(target: Target, stack_name: str) -> dict[str, str]:
    """Logical id → alarm name, for every alarm the stack made."""
    found: dict[str, str] = {}
    paginator = target.client("cloudformation").get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack_name):
        for resource in page["StackResourceSummaries"]:
            if resource["ResourceType"] == "AWS::CloudWatch::Alarm":
                found[resource["LogicalResourceId"]] = resource["PhysicalResourceId"]
    return found


def probe(target: Target, stack_name: str, logical_id: str = "BookkeepingAlarm") -> str:
    """Set the alarm to ALARM; its name (the notification's subject names it)."""
    alarms = stack_alarms(target, stack_name)
    if logical_id not in alarms:
        raise LookupError(f"stack {stack_name} has no alarm {logical_id}; it has {', '.join(sorted(alarms))}")
    name = alarms[logical_id]
    target.client("cloudwatch").set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason=PROBE_REASON)
    return name
