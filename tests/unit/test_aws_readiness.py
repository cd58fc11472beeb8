"""What a real AWS account needs of the template, checked offline: tenant limits, the platform's
own bus, least privilege, logs and data that outlive the stack, alarms on metrics the stack emits,
one declaration per setting, and a layer that ships exactly what the tests ran with."""

import ast
import re
import tomllib
from pathlib import Path

import pytest

from events_core.config import Settings
from eventsapi.local.template import Template
from eventsapi.local.wiring import REGION, STACK_NAME, TEMPLATE

ROOT = TEMPLATE.parent


def template(**parameters: str) -> Template:
    return Template(TEMPLATE, stack_name=STACK_NAME, region=REGION, overrides=parameters)


def resources(of: Template, kind: str) -> dict[str, dict]:
    return {name: spec for name, spec in of.resources.items() if spec["Type"] == kind}


def statements(of: Template, logical_id: str) -> list[dict]:
    props = of.of_type("AWS::Serverless::Function")[logical_id]
    return [s for policy in props.get("Policies", []) for s in policy["Statement"]]


# -- tenant limits and fairness


def test_each_developer_is_throttled_apart_by_a_counter_not_an_api_gateway_key():
    """deploy review N7: API Gateway keys stop at 10,000 per account and region."""
    t = template()
    api = t.raw["Resources"]["EventsApi"]["Properties"]
    assert api["Auth"]["ApiKeyRequired"] is False and not t.of_type("AWS::ApiGateway::UsagePlan")
    variables = t.raw["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["RATE_COUNTERS_TABLE"] == {"Ref": "RateCountersTable"}
    assert api["MethodSettings"][0]["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"}  # the outer bound stays
    for kind in ("THROTTLED", "QUOTA_EXCEEDED", "INVALID_API_KEY"):
        body = api["GatewayResponses"][kind]["ResponseTemplates"]["application/json"]
        assert body.startswith('{"error": {"code": ')


def test_the_console_needs_no_key_and_no_usage_plan():
    for event in template().function("ConsoleFunction").events.values():
        assert event["Properties"]["Auth"] == {"Authorizer": "NONE", "ApiKeyRequired": False}


def test_both_event_sources_cap_their_concurrency_with_parameters():
    mappings = template().of_type("AWS::Lambda::EventSourceMapping")
    caps = {m["ScalingConfig"]["MaximumConcurrency"]["Ref"] for m in mappings.values()}
    assert caps == {"FanoutMaxConcurrency", "DeliveryMaxConcurrency"}


def test_no_function_takes_the_managed_sqs_policy_on_every_queue():
    t = template()
    for logical_id in t.function_logical_ids():
        assert all(event.get("Type") != "SQS" for event in t.function(logical_id).events.values()), logical_id
        for statement in statements(t, logical_id):
            assert statement.get("Resource") != "*", f"{logical_id}: {statement}"


def test_delivery_may_publish_only_the_alert():
    [publish] = [s for s in statements(template(), "DeliverFunction") if s["Action"] == ["events:PutEvents"]]
    assert publish["Condition"]["StringEquals"]["events:detail-type"] == "alert.triggered"
    assert publish["Condition"]["StringEquals"]["events:source"] == {"Ref": "EventSource"}


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        (
            "kms:Decrypt",
            {"DeliverFunction", "TestWebhookFunction", "NextListenDeliveriesFunction", "VerifyWebhookFunction"},
        ),
        # A PATCH seals what it changes (custom headers, an OAuth2 client secret): issue 21.
        (
            "kms:Encrypt",
            {"CreateWebhookFunction", "RotateSecretFunction", "OpenListenSessionFunction", "UpdateWebhookFunction"},
        ),
    ],
)
def test_only_the_functions_that_need_the_secrets_key_may_use_it(action, allowed):
    t = template()
    users = {fn for fn in t.function_logical_ids() if any(action in s["Action"] for s in statements(t, fn))}
    assert users == allowed


def test_secrets_are_encrypted_with_a_retained_key_of_the_stack():
    t = template()
    key = t.raw["Resources"]["SecretsKey"]
    assert (
        key["Type"] == "AWS::KMS::Key" and key["DeletionPolicy"] == "Retain" and key["Properties"]["EnableKeyRotation"]
    )
    secrets_key = t.raw["Globals"]["Function"]["Environment"]["Variables"]["SECRETS_KEY_ID"]
    assert secrets_key["Fn::If"][:2] == ["NewSecretsKey", {"Fn::GetAtt": ["SecretsKey", "Arn"]}]
    adopted = template(ExistingSecretsKeyArn="arn:aws:kms:us-east-1:123456789012:key/old")
    assert "SecretsKey" not in adopted.resources
    assert adopted.resolve(secrets_key) == "arn:aws:kms:us-east-1:123456789012:key/old"


# -- the platform's bus


def test_by_default_the_stack_creates_the_bus_and_keeps_it_when_deleted():
    t = template()
    bus = t.raw["Resources"]["PlatformEventBus"]
    assert bus["DeletionPolicy"] == "Retain" and "PlatformEventBus" in t.resources
    assert t.raw["Resources"]["PlatformEventsRule"]["Properties"]["EventBusName"] == {
        "Fn::If": ["CreateEventBus", {"Ref": "PlatformEventBus"}, {"Ref": "ExistingEventBusName"}]
    }


def test_an_existing_bus_is_used_by_name_and_no_bus_is_created():
    t = template(ExistingEventBusName="the-platform")
    assert "PlatformEventBus" not in t.resources
    assert t.resolve(t.raw["Resources"]["PlatformEventsRule"]["Properties"]["EventBusName"]) == "the-platform"
    assert t.resolve(t.raw["Globals"]["Function"]["Environment"]["Variables"]["EVENT_BUS_NAME"]) == "the-platform"
    [publish] = [s for s in statements(t, "DeliverFunction") if s["Action"] == ["events:PutEvents"]]
    assert t.resolve(publish["Resource"]).endswith(":event-bus/the-platform")


# -- regions


def test_the_api_is_regional():
    assert template().raw["Resources"]["EventsApi"]["Properties"]["EndpointConfiguration"] == {"Type": "REGIONAL"}


# -- logs and data lifetime


def test_every_function_logs_json_to_a_group_of_its_own_with_retention():
    t = template()
    assert t.raw["Globals"]["Function"]["LoggingConfig"]["LogFormat"] == "JSON"
    groups = t.of_type("AWS::Logs::LogGroup")
    seen = set()
    for logical_id in t.function_logical_ids():
        group = t.raw["Resources"][logical_id]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert groups[group]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        seen.add(group)
    assert len(seen) == len(t.function_logical_ids())


def test_api_access_logs_go_to_a_retained_group():
    t = template()
    api = t.raw["Resources"]["EventsApi"]["Properties"]
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    assert t.raw["Resources"]["ApiAccessLogs"]["DeletionPolicy"] == "Retain"


def test_users_data_and_dead_letters_outlive_the_stack():
    t = template()
    ephemeral = {"RateCountersTable"}  # a count lives one window (seconds)
    for name, spec in t.raw["Resources"].items():
        if name in ephemeral:
            continue
        if spec["Type"] == "AWS::DynamoDB::Table" or name.endswith(("DeadLetterQueue", "FaultQueue")):
            assert spec.get("DeletionPolicy") == "Retain" and spec.get("UpdateReplacePolicy") == "Retain", name


# -- alarms and the dashboard


def emitted_metrics() -> set[str]:
    """Names the code passes to Powertools' add_metric."""
    found = set()
    for path in [*(ROOT / "layers").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_metric":
                for keyword in node.keywords:
                    if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                        found.add(keyword.value.value)
    return found


def test_the_stack_creates_a_topic_when_none_is_given():
    assert "AlarmTopic" in template().resources
    assert "AlarmTopic" not in template(AlarmTopicArn="arn:aws:sns:us-east-1:1:x").resources
    assert "AlarmEmailSubscription" in template(AlarmEmail="ops@example.com").resources


def test_the_dashboard_shows_the_delivery_metrics_the_code_emits():
    body = template().raw["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
    shown = set(re.findall(r'\["EventsApi", "(\w+)"', body))
    assert {"Delivered", "DeliveryFailed", "DeadLettered", "WebhookDisabled", "PostLatency"} <= shown
    assert shown <= emitted_metrics()


# -- one declaration per setting


def _parsed_default(spec: dict, parse) -> object:
    return parse(str(spec["Default"]))


@pytest.mark.parametrize("field", [name for name, (source, _) in Settings.sources().items() if source.parameter])
def test_code_defaults_are_the_template_defaults(field):
    source, default = Settings.sources()[field]
    spec = template().raw["Parameters"][source.parameter]
    assert _parsed_default(spec, source.parse) == default, f"{source.parameter} vs Settings.{field}"
    variables = template().raw["Globals"]["Function"]["Environment"]["Variables"]
    assert variables[source.env] == {"Ref": source.parameter}


def test_the_default_comparison_notices_a_drift():
    source, default = Settings.sources()["failure_threshold"]
    assert _parsed_default({"Default": 20}, source.parse) != default


# -- the layer ships exactly what the tests ran with


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()] = version.strip()
    return pins


def test_the_layer_lock_pins_what_the_tests_ran_with_and_no_sdk():
    layer, dev = _pins(ROOT / "layers/common/requirements.lock"), _pins(ROOT / "requirements/dev.txt")
    assert layer and all(dev.get(name) == version for name, version in layer.items()), {
        name: (version, dev.get(name)) for name, version in layer.items() if dev.get(name) != version
    }
    assert not {"boto3", "botocore", "s3transfer", "urllib3"} & set(layer), "the Lambda runtime provides the SDK"


def test_the_layer_lock_is_the_whole_tree_of_what_the_code_needs():
    from importlib.metadata import requires

    layer = _pins(ROOT / "layers/common/requirements.lock")
    sdk = {"boto3", "botocore", "s3transfer", "urllib3", "jmespath", "python-dateutil", "six"}
    wanted = {"aws-lambda-powertools", "standardwebhooks", "opentelemetry-api", "opentelemetry-sdk"}
    closure, todo = set(), list(wanted)
    while todo:
        name = todo.pop()
        if name in closure:
            continue
        closure.add(name)
        for requirement in requires(name) or []:
            if "extra ==" in requirement:
                continue
            todo.append(re.sub(r"[-_.]+", "-", re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0]).lower())
    assert closure - sdk <= set(layer), closure - sdk - set(layer)


def test_the_layer_ships_no_xray_sdk():
    """The X-Ray SDK reaches end of support on 25 February 2027: neither it nor the Powertools
    Tracer that wraps it ships; spans are OpenTelemetry's (events_core.tracing)."""
    layer = _pins(ROOT / "layers/common/requirements.lock")
    assert "aws-xray-sdk" not in layer and "aws-xray-sdk" not in _pins(ROOT / "requirements/dev.txt")
    assert "[tracer]" not in (ROOT / "layers/common/requirements.in").read_text()
    code = "\n".join(path.read_text() for path in (ROOT / "layers/common/events_core").rglob("*.py"))
    assert "aws_xray_sdk" not in code and "Tracer(" not in code


def test_the_layer_is_built_by_its_makefile_for_arm64():
    layer = template().raw["Resources"]["CommonLayer"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    makefile = (ROOT / "layers/common/Makefile").read_text()
    assert "build-CommonLayer:" in makefile and "--no-deps" in makefile and "manylinux2014_aarch64" in makefile


def test_samconfig_has_a_ci_environment_that_never_waits_for_a_human():
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert config["ci"]["deploy"]["parameters"]["confirm_changeset"] is False
    assert config["default"]["deploy"]["parameters"]["confirm_changeset"] is True
