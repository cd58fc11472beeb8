"""What a real AWS account needs of the template, checked offline: tenant limits, the platform's
own bus, least privilege, logs and data that outlive the stack, alarms on metrics the stack emits,
one declaration per setting, and a layer that ships exactly what the tests ran with."""

import ast
import re
import tomllib
from pathlib import Path

import pytest

from events_core.config import Settings
from eventsapi.deploy.evaluate import Deployment
from eventsapi.deploy.transform import transform_file
from eventsapi.local.template import Template
from eventsapi.local.wiring import REGION, STACK_NAME, TEMPLATE

ROOT = TEMPLATE.parent
API_KEY = {"AlarmEmail": "ops@invoratec.example"}


def template(**parameters: str) -> Template:
    return Template(TEMPLATE, stack_name=STACK_NAME, region=REGION, overrides=parameters)


def deployed(**parameters: str) -> Deployment:
    """What AWS creates: the packaged template through the real SAM transform, with these parameters."""
    return Deployment(transform_file(TEMPLATE, parameters), parameters, region=REGION)


def resources(of: Template, kind: str) -> dict[str, dict]:
    return {name: spec for name, spec in of.resources.items() if spec["Type"] == kind}


def statements(of: Deployment, function: str) -> list[dict]:
    return of.statements(function)


# -- tenant limits and fairness


def test_each_developer_is_throttled_apart_by_a_counter_not_an_api_gateway_key():
    """deploy review N7: API Gateway keys stop at 10,000 per account and region."""
    d = deployed()
    assert not d.of_type("AWS::ApiGateway::UsagePlan") and not d.of_type("AWS::ApiGateway::ApiKey")
    [api] = d.of_type("AWS::ApiGateway::RestApi").values()
    schemes = api["Body"]["components"]["securitySchemes"]
    assert set(schemes) == {"ApiKeyAuthorizer"}
    assert schemes["ApiKeyAuthorizer"]["x-amazon-apigateway-authtype"] == "custom"
    for function in d.functions():
        assert d.environment(function)["RATE_COUNTERS_TABLE"] == d.ref("RateCountersTable"), function
    [stage] = d.of_type("AWS::ApiGateway::Stage").values()
    assert stage["MethodSettings"][0]["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"}  # the outer bound stays
    for kind in ("THROTTLED", "QUOTA_EXCEEDED", "INVALID_API_KEY"):
        body = api["Body"]["x-amazon-apigateway-gateway-responses"][kind]["responseTemplates"]["application/json"]
        assert body.startswith('{"error": {"code": ')


def test_no_route_asks_api_gateway_for_a_key_and_the_unauthenticated_ones_have_no_authorizer():
    """deploy review B1: what the transform makes of the API's and the events' Auth (the events'
    ApiKeyRequired: false is what the translator refused)."""
    d = deployed()
    [api] = d.of_type("AWS::ApiGateway::RestApi").values()
    for path, methods in api["Body"]["paths"].items():
        for method, operation in methods.items():
            assert all("api_key" not in entry for entry in operation.get("security", [])), (path, method)
    open_routes = {route: function for route, (function, authorizer) in d.routes().items() if authorizer is None}
    assert open_routes == {
        ("/console", "GET"): "ConsoleFunction",
        ("/console/{asset+}", "GET"): "ConsoleFunction",
        ("/v1/events/verify", "GET"): "VerifyLinkFunction",  # shows what the link confirms
        ("/v1/events/verify", "POST"): "VerifyLinkFunction",  # confirms it
    }


def test_every_queue_event_source_caps_its_concurrency_with_a_parameter():
    mappings = deployed().of_type("AWS::Lambda::EventSourceMapping")
    caps = {m["ScalingConfig"]["MaximumConcurrency"]["Ref"] for m in mappings.values() if "ScalingConfig" in m}
    assert caps == {"FanoutMaxConcurrency", "DeliveryMaxConcurrency", "ExpungeMaxConcurrency"}


def test_no_function_takes_the_managed_sqs_policy_on_every_queue():
    d = deployed()
    for function in d.functions():
        role = d.resources[d.role_of(function)]["Properties"]
        assert not any("SQS" in str(arn) for arn in role.get("ManagedPolicyArns", [])), function
        for statement in statements(d, function):
            assert statement.get("Resource") != "*", f"{function}: {statement}"


def test_delivery_may_publish_only_the_alert():
    [publish] = [s for s in statements(deployed(), "DeliverFunction") if s["Action"] == ["events:PutEvents"]]
    assert publish["Condition"]["StringEquals"]["events:detail-type"] == "alert.triggered"
    assert publish["Condition"]["StringEquals"]["events:source"] == {"Ref": "EventSource"}


SEALERS = {"CreateWebhookFunction", "RotateSecretFunction", "OpenListenSessionFunction", "UpdateWebhookFunction"}
OPENERS = {"DeliverFunction", "TestWebhookFunction", "NextListenDeliveriesFunction", "VerifyWebhookFunction"}


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        # Envelope encryption: everyone who seals or opens unwraps the stack's data key (Decrypt);
        # only a sealer may make the first one; no function encrypts with KMS itself any more.
        ("kms:Decrypt", SEALERS | OPENERS),
        ("kms:GenerateDataKey", SEALERS),
        ("kms:Encrypt", set()),
    ],
)
def test_only_the_functions_that_need_the_secrets_key_may_use_it(action, allowed):
    d = deployed()
    users = {
        fn for fn in d.functions() if any(action in s["Action"] and s["Effect"] == "Allow" for s in statements(d, fn))
    }
    assert users == allowed


def test_secrets_are_encrypted_with_a_retained_key_of_the_stack():
    d = deployed()
    key = d.resources["SecretsKey"]
    assert (
        key["Type"] == "AWS::KMS::Key" and key["DeletionPolicy"] == "Retain" and key["Properties"]["EnableKeyRotation"]
    )
    assert d.environment("DeliverFunction")["SECRETS_KEY_ID"] == d.attribute("SecretsKey", "Arn")
    adopted = deployed(ExistingSecretsKeyArn="arn:aws:kms:us-east-1:123456789012:key/old")
    assert "SecretsKey" not in adopted.resources
    assert adopted.environment("DeliverFunction")["SECRETS_KEY_ID"] == "arn:aws:kms:us-east-1:123456789012:key/old"


# -- the platform's bus


def test_by_default_the_stack_creates_the_bus_and_keeps_it_when_deleted():
    d = deployed()
    bus = d.resources["PlatformEventBus"]
    assert bus["DeletionPolicy"] == "Retain"
    assert d.resolve(d.of_type("AWS::Events::Rule")["PlatformEventsRule"]["EventBusName"]) == "platform-events"


def test_an_existing_bus_is_used_by_name_and_no_bus_is_created():
    d = deployed(ExistingEventBusName="the-platform")
    assert "PlatformEventBus" not in d.resources
    assert d.resolve(d.of_type("AWS::Events::Rule")["PlatformEventsRule"]["EventBusName"]) == "the-platform"
    assert d.environment("DeliverFunction")["EVENT_BUS_NAME"] == "the-platform"
    [publish] = [s for s in statements(d, "DeliverFunction") if s["Action"] == ["events:PutEvents"]]
    assert d.resolve(publish["Resource"]).endswith(":event-bus/the-platform")


def test_the_default_bus_is_refused_before_anything_is_created():
    """deploy review L3: on the default bus the rule alarms' RuleName split has no index 1."""
    d = deployed(**API_KEY, ExistingEventBusName="default")
    assert [rule.split(":")[0] for rule in d.broken_rules()] == ["PlatformBusIsCustom"]


# -- regions


def test_the_api_is_regional():
    [api] = deployed().of_type("AWS::ApiGateway::RestApi").values()
    assert api["EndpointConfiguration"] == {"Types": ["REGIONAL"]}


# -- logs and data lifetime


def test_every_function_logs_json_to_a_group_of_its_own_with_retention():
    d = deployed()
    groups = d.of_type("AWS::Logs::LogGroup")
    seen = set()
    for function, props in d.functions().items():
        assert props["LoggingConfig"]["LogFormat"] == "JSON", function
        group = d.logical_id_of(props["LoggingConfig"]["LogGroup"])
        assert groups[group]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        seen.add(group)
    assert len(seen) == len(d.functions())


def test_api_access_logs_go_to_a_retained_group():
    d = deployed()
    [stage] = d.of_type("AWS::ApiGateway::Stage").values()
    assert stage["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    assert d.resources["ApiAccessLogs"]["DeletionPolicy"] == "Retain"


def test_users_data_and_dead_letters_outlive_the_stack():
    d = deployed()
    ephemeral = {"RateCountersTable"}  # a count lives one window (seconds)
    for name, spec in d.resources.items():
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
    assert "AlarmTopic" in deployed().resources
    assert "AlarmTopic" not in deployed(AlarmTopicArn="arn:aws:sns:us-east-1:1:x").resources
    assert "AlarmEmailSubscription" in deployed(AlarmEmail="ops@example.com").resources


def test_the_dashboard_shows_the_delivery_metrics_the_code_emits():
    d = deployed()
    body = d.resolve(d.of_type("AWS::CloudWatch::Dashboard")["Dashboard"]["DashboardBody"])
    shown = set(re.findall(r'\["EventsApi", "(\w+)"', body))
    assert {"Delivered", "DeliveryFailed", "DeadLettered", "WebhookDisabled", "PostLatency"} <= shown
    assert shown <= emitted_metrics()


# -- one declaration per setting


def _parsed_default(spec: dict, parse) -> object:
    return parse(str(spec["Default"]))


@pytest.mark.parametrize("field", [name for name, (source, _) in Settings.sources().items() if source.parameter])
def test_code_defaults_are_the_template_defaults(field):
    source, default = Settings.sources()[field]
    d = deployed()
    spec = d.template["Parameters"][source.parameter]
    assert _parsed_default(spec, source.parse) == default, f"{source.parameter} vs Settings.{field}"
    for function, props in d.functions().items():  # what Lambda is given, every function
        assert props["Environment"]["Variables"][source.env] == {"Ref": source.parameter}, function


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
    layer = template().sam["Resources"]["CommonLayer"]  # the SAM source: build metadata is sam build's
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    makefile = (ROOT / "layers/common/Makefile").read_text()
    assert "build-CommonLayer:" in makefile and "--no-deps" in makefile and "manylinux2014_aarch64" in makefile


def test_samconfig_has_a_ci_environment_that_never_waits_for_a_human():
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert config["ci"]["deploy"]["parameters"]["confirm_changeset"] is False
    assert config["default"]["deploy"]["parameters"]["confirm_changeset"] is True


def test_samconfigs_prod_environment_pins_all_but_the_operators_decisions():
    """deploy review L6: `sam deploy --guided --config-env prod` offers a value for everything that
    is not the operator's to decide; the alarm destination is refused until it is replaced."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    prod = config["prod"]["deploy"]["parameters"]
    assert prod["confirm_changeset"] is True and prod["capabilities"] == "CAPABILITY_IAM" and prod["resolve_s3"]
    given = {name: value.strip('"') for name, value in (p.split("=", 1) for p in prod["parameter_overrides"].split())}
    declared = deployed().template["Parameters"]
    assert set(given) <= set(declared)
    local_only = {"DeployTarget": "aws", "AllowHttpUrls": "false", "AllowedPrivateNetworks": "", "RetryDelayScale": "1"}
    assert {name: given[name] for name in local_only} == local_only
    [refusal] = Deployment(deployed().template, given).refusals()
    assert refusal.startswith("Parameter AlarmEmail failed to satisfy constraint")
    replaced = {**given, "AlarmEmail": "ops@invoratec.example"}
    assert Deployment(deployed().template, replaced).refusals() == []
