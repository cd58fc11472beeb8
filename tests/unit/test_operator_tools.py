"""The operator commands that call AWS, against botocore Stubbers: the exact requests they make
and how they read the answers (deploy review N1, N4, N8)."""

import boto3
import pytest
from botocore.stub import Stubber

from eventsapi.admin import alarms, preflight
from eventsapi.admin.target import Target
from eventsapi.local.template import Template
from eventsapi.local.wiring import REGION, TEMPLATE

STACK = "events-api"


@pytest.fixture
def target():
    session = boto3.Session(region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    made = Target(session, None, {}, deployed=True)
    stubbers = {}
    for service in ("cloudformation", "cloudwatch", "events", "lambda", "apigateway"):
        client = session.client(service)
        made._clients[service] = client
        stubbers[service] = Stubber(client)
        stubbers[service].activate()
    yield made, stubbers
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()


def template(**parameters: str) -> Template:
    return Template(TEMPLATE, stack_name=STACK, region=REGION, overrides=parameters)


def test_the_probe_sets_the_stacks_alarm_to_alarm(target):
    made, stub = target
    summary = {"LastUpdatedTimestamp": "2026-11-30T00:00:00Z", "ResourceStatus": "CREATE_COMPLETE"}
    stub["cloudformation"].add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                {
                    "LogicalResourceId": "BookkeepingAlarm",
                    "PhysicalResourceId": "events-api-Bookkeeping-1",
                    "ResourceType": "AWS::CloudWatch::Alarm",
                    **summary,
                },
                {
                    "LogicalResourceId": "AlarmTopic",
                    "PhysicalResourceId": "arn:aws:sns:x",
                    "ResourceType": "AWS::SNS::Topic",
                    **summary,
                },
            ]
        },
        {"StackName": STACK},
    )
    stub["cloudwatch"].add_response(
        "set_alarm_state",
        {},
        {"AlarmName": "events-api-Bookkeeping-1", "StateValue": "ALARM", "StateReason": alarms.PROBE_REASON},
    )
    assert alarms.probe(made, STACK) == "events-api-Bookkeeping-1"


def test_preflight_finds_a_retained_bus_the_stack_does_not_own(target):
    made, stub = target
    stub["events"].add_response(
        "describe_event_bus", {"Name": "platform-events", "Arn": "arn:aws:events:x"}, {"Name": "platform-events"}
    )
    stub["cloudformation"].add_client_error(
        "describe_stack_resource", "ValidationError", "Stack 'events-api' does not exist"
    )
    finding = preflight.retained_bus(made, template(), STACK)
    assert finding is not None and finding.blocking and "ExistingEventBusName=platform-events" in finding.message


def test_preflight_is_quiet_when_the_bus_is_the_stacks_own_or_adopted(target):
    made, stub = target
    stub["events"].add_response("describe_event_bus", {"Name": "platform-events"}, {"Name": "platform-events"})
    stub["cloudformation"].add_response(
        "describe_stack_resource",
        {
            "StackResourceDetail": {
                "LogicalResourceId": "PlatformEventBus",
                "ResourceType": "AWS::Events::EventBus",
                "LastUpdatedTimestamp": "2026-11-30T00:00:00Z",
                "ResourceStatus": "CREATE_COMPLETE",
            }
        },
        {"StackName": STACK, "LogicalResourceId": "PlatformEventBus"},
    )
    assert preflight.retained_bus(made, template(), STACK) is None
    assert preflight.retained_bus(made, template(ExistingEventBusName="platform-events"), STACK) is None


def test_preflight_weighs_the_concurrency_asked_for_against_the_accounts_quota(target):
    made, stub = target
    new_account = {"AccountLimit": {"ConcurrentExecutions": 10, "UnreservedConcurrentExecutions": 10}}
    stub["lambda"].add_response("get_account_settings", new_account, {})
    stub["lambda"].add_response("get_account_settings", new_account, {})
    [note] = preflight.concurrency(made, template())
    assert not note.blocking and "25 of the account's 10" in note.message
    blocking = preflight.concurrency(made, template(AuthorizerReservedConcurrency="5"))
    assert [f.blocking for f in blocking] == [True, False]


def test_preflight_reports_the_rules_a_deploy_would_break(target):
    made, stub = target
    stub["events"].add_client_error("describe_event_bus", "ResourceNotFoundException")
    stub["lambda"].add_response("get_account_settings", {"AccountLimit": {"ConcurrentExecutions": 1000}}, {})
    findings = preflight.check(made, template(AllowHttpUrls="true"), STACK)
    assert [f.message.split(":")[0] for f in findings if f.blocking] == [
        "AlarmsReachSomeone",
        "LocalOnlyParametersStayLocal",
    ]


def test_preflight_refuses_what_the_sam_transform_refuses(target, monkeypatch):
    made, stub = target
    stub["events"].add_client_error("describe_event_bus", "ResourceNotFoundException")

    def refuse(*args, **kwargs):
        raise preflight.sam_transform.TransformRejected("Unable to set ApiKeyRequired [False] on API method [get]")

    monkeypatch.setattr(preflight.sam_transform, "transform_file", refuse)
    [finding] = preflight.check(made, template(AlarmEmail="ops@invoratec.example"), STACK)
    assert finding.blocking and finding.message.startswith("the SAM transform refuses the template: Unable to set")


def test_preflight_checks_the_api_gateway_account_role_when_told_it_exists(target):
    made, stub = target
    stub["apigateway"].add_response("get_account", {"throttleSettings": {"burstLimit": 5000}}, {})
    finding = preflight.gateway_account_role(made, template(ApiGatewayAccountRole="existing"))
    assert finding is not None and finding.blocking and "ApiGatewayAccountRole=create" in finding.message
    stub["apigateway"].add_response("get_account", {"cloudwatchRoleArn": "arn:aws:iam::123456789012:role/x"}, {})
    assert preflight.gateway_account_role(made, template(ApiGatewayAccountRole="existing")) is None
    assert preflight.gateway_account_role(made, template()) is None  # the stack sets it


def test_preflight_counts_the_31_functions_that_reserve_api_concurrency(target):
    made, stub = target
    stub["lambda"].add_response("get_account_settings", {"AccountLimit": {"ConcurrentExecutions": 1000}}, {})
    cfn = preflight.sam_transform.transform_file(TEMPLATE)
    assert preflight.api_functions(cfn) == 36
    [blocking] = [f for f in preflight.concurrency(made, template(ApiReservedConcurrency="35"), cfn) if f.blocking]
    assert "reserving 1260" in blocking.message  # 36 × 35


def test_purge_legacy_deletes_only_the_removed_usage_plans_keys(target):
    """deploy review M6: the per-developer API Gateway keys older releases made stay behind."""
    from eventsapi.admin import keys

    made, stub = target
    legacy = {"id": "k1", "name": "plan123:user_123", "description": keys.LEGACY_KEY_DESCRIPTION, "enabled": True}
    other = {"id": "k2", "name": "someone-elses-key", "description": "another service", "enabled": True}
    listing = {"items": [legacy, other]}
    stub["apigateway"].add_response("get_api_keys", listing, {"includeValues": False})
    assert keys.purge_legacy(made, delete=False) == [legacy]  # a dry run deletes nothing
    stub["apigateway"].add_response("get_api_keys", listing, {"includeValues": False})
    stub["apigateway"].add_response("delete_api_key", {}, {"apiKey": "k1"})
    assert [key["id"] for key in keys.purge_legacy(made, delete=True)] == ["k1"]
