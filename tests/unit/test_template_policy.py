"""The template's operating rules, checked on resolved values (deploy review 2026-11-30, N1–N5,
N11, N14, N15): each alarm watches a metric under the exact name, namespace and dimensions AWS or
the code publishes, reaches a person, and does not latch; dead letters mean one thing per queue;
concurrency stays inside AWS's bounds; local-only parameters stay local; logs keep what an
operator needs. Runs in `make test` (tests/unit); a rule broken here cannot come back unnoticed."""

import ast
import json
import re
import tomllib
from typing import Any

import pytest

from eventsapi.local.cloudformation import as_deployed
from eventsapi.local.template import Template
from eventsapi.local.wiring import LOCAL_PARAMETERS, REGION, STACK_NAME, TEMPLATE

ROOT = TEMPLATE.parent
SQS_METRICS = {
    "ApproximateAgeOfOldestMessage",
    "ApproximateNumberOfMessagesVisible",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "NumberOfMessagesSent",
    "NumberOfMessagesReceived",
    "NumberOfMessagesDeleted",
}
LAMBDA_LOG_LEVELS = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
LOCAL_ONLY = {"AllowHttpUrls", "AllowedPrivateNetworks", "RetryDelayScale"}
A_DESTINATION = {"AlarmEmail": "ops@invoratec.example"}


def deployed(**parameters: str) -> Template:
    return as_deployed(Template(TEMPLATE, stack_name=STACK_NAME, region=REGION, overrides=parameters))


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


def published(t: Template) -> set[tuple[str, str, frozenset]]:
    """(namespace, metric name, dimensions) of every series this deployment puts in CloudWatch that
    an alarm may watch: AWS's own, named as AWS names them, and ours as Powertools writes them."""
    series: set[tuple[str, str, frozenset]] = set()
    for queue in t.of_type("AWS::SQS::Queue"):
        name = t.physical[queue].attributes["QueueName"]
        series |= {("AWS/SQS", metric, frozenset({("QueueName", name)})) for metric in SQS_METRICS}
    for function in t.function_logical_ids():
        name = t.physical[function].ref
        series |= {("AWS/Lambda", m, frozenset({("FunctionName", name)})) for m in ("Errors", "Throttles")}
    for rule, props in t.of_type("AWS::Events::Rule").items():
        bus = t.resolve(props.get("EventBusName", "default"))
        rule_name = t.physical[rule].attributes["Arn"].rsplit("/", 1)[1]  # EventBridge's own name for it
        dimensions = frozenset({("EventBusName", bus), ("RuleName", rule_name)})
        series |= {("AWS/Events", m, dimensions) for m in ("FailedInvocations", "InvocationsSentToDlq", "Invocations")}
    for props in t.of_type("AWS::Serverless::Api").values():
        dimensions = frozenset({("ApiName", t.resolve(props["Name"])), ("Stage", t.resolve(props["StageName"]))})
        series |= {("AWS/ApiGateway", m, dimensions) for m in ("5XXError", "4XXError", "Latency", "Count")}
    environment = t.globals_environment()
    ours = frozenset({("service", environment["POWERTOOLS_SERVICE_NAME"])})
    series |= {(environment["POWERTOOLS_METRICS_NAMESPACE"], m, ours) for m in emitted_metrics()}
    return series


def watched(t: Template, alarm: dict) -> list[tuple[str, str, frozenset]]:
    """The series an alarm reads, resolved as CloudFormation would create it."""
    alarm = t.resolve(alarm)
    stats = [m["MetricStat"]["Metric"] for m in alarm.get("Metrics", []) if "MetricStat" in m] or [alarm]
    return [
        (s["Namespace"], s["MetricName"], frozenset((d["Name"], d["Value"]) for d in s.get("Dimensions", [])))
        for s in stats
    ]


def missing_series(t: Template, alarms: dict[str, dict]) -> dict[str, list]:
    available = published(t)
    return {
        name: [series for series in watched(t, alarm) if series not in available]
        for name, alarm in alarms.items()
        if any(series not in available for series in watched(t, alarm))
    }


# -- N2: every alarm watches a series that exists


@pytest.mark.parametrize("parameters", [{}, {"ExistingEventBusName": "the-platform"}])
def test_every_alarm_watches_a_series_that_is_really_published(parameters):
    t = deployed(**parameters)
    alarms = t.of_type("AWS::CloudWatch::Alarm")
    assert len(alarms) >= 14
    assert missing_series(t, alarms) == {}


def test_the_check_catches_an_alarm_on_the_rules_ref_which_is_bus_pipe_rule():
    t = deployed()
    alarm = json.loads(json.dumps(t.of_type("AWS::CloudWatch::Alarm")["RuleFailedInvocationsAlarm"]))
    alarm["Dimensions"][1]["Value"] = {"Ref": "PlatformEventsRule"}  # the form the review found
    assert t.resolve({"Ref": "PlatformEventsRule"}).startswith("platform-events|")
    assert list(missing_series(t, {"old": alarm})) == ["old"]


def test_the_ours_namespace_and_dimension_are_what_powertools_writes(monkeypatch):
    """The series the EventsApi alarms watch, as Powertools serialises them under the template's environment."""
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    environment = deployed().globals_environment()
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", environment["POWERTOOLS_METRICS_NAMESPACE"])
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", environment["POWERTOOLS_SERVICE_NAME"])
    metrics = Metrics()
    metrics.add_metric(name="BookkeepingFailed", unit=MetricUnit.Count, value=1)
    emf = metrics.serialize_metric_set()
    metrics.clear_metrics()
    [directive] = emf["_aws"]["CloudWatchMetrics"]
    alarm = deployed().of_type("AWS::CloudWatch::Alarm")["BookkeepingAlarm"]
    [(namespace, name, dimensions)] = watched(deployed(), alarm)
    assert (directive["Namespace"], directive["Metrics"][0]["Name"]) == (namespace, name)
    assert {(d, emf[d]) for d in directive["Dimensions"][0]} == set(dimensions)


# -- N1, N3: alarms reach a person


def test_every_alarm_notifies_the_topic():
    for name, alarm in deployed().of_type("AWS::CloudWatch::Alarm").items():
        assert alarm["AlarmActions"] == [
            {"Fn::If": ["HasAlarmTopic", {"Ref": "AlarmTopicArn"}, {"Ref": "AlarmTopic"}]}
        ], name


def test_cloudwatch_can_publish_to_the_topic_the_stack_creates():
    topic = deployed().of_type("AWS::SNS::Topic")["AlarmTopic"]
    assert "KmsMasterKeyId" not in topic, "an SSE topic needs a customer key whose policy allows CloudWatch"


def test_a_deploy_without_somewhere_to_send_alarms_is_refused():
    assert deployed().broken_rules() == [
        "AlarmsReachSomeone: Set AlarmEmail or AlarmTopicArn, so that an alarm reaches a person."
    ]
    assert deployed(**A_DESTINATION).broken_rules() == []
    assert deployed(AlarmTopicArn="arn:aws:sns:us-east-1:123456789012:ops").broken_rules() == []


@pytest.mark.parametrize("environment", ["default", "ci"])
def test_every_samconfig_environment_names_a_destination_that_must_be_replaced(environment):
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    overrides = config[environment]["deploy"]["parameters"]["parameter_overrides"]
    given = dict(pair.split("=", 1) for pair in overrides.split())
    assert {"AlarmEmail", "AlarmTopicArn"} & set(given)
    pattern = Template(TEMPLATE, stack_name=STACK_NAME, region=REGION).raw["Parameters"]["AlarmEmail"]["AllowedPattern"]
    assert not re.fullmatch(pattern, given["AlarmEmail"]), "the placeholder must fail until replaced"
    assert re.fullmatch(pattern, "ops@invoratec.cn") and re.fullmatch(pattern, "")


# -- N5: dead letters mean one thing per queue, and no alarm latches


def redrive_targets(t: Template) -> set[str]:
    return {
        t.logical_id_of(props["RedrivePolicy"]["deadLetterTargetArn"])
        for props in t.of_type("AWS::SQS::Queue").values()
        if "RedrivePolicy" in props
    }


def test_crashed_messages_rest_in_fault_queues_apart_from_tenants_failed_posts():
    t = deployed()
    assert redrive_targets(t) == {"EventsFaultQueue", "DeliveryFaultQueue", "ExpungeFaultQueue"}
    variables = t.raw["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["DELIVERY_DLQ_URL"] == {"Ref": "DeliveryDeadLetterQueue"}
    assert variables["DELIVERY_FAULT_QUEUE_URL"] == {"Ref": "DeliveryFaultQueue"}


def test_no_alarm_watches_the_standing_depth_of_a_dead_letter_queue():
    """Depth > 0 stays in ALARM for the 14 days a letter is kept: later letters never notify."""
    t = deployed()
    resting = {
        t.physical[q].attributes["QueueName"]
        for q in t.of_type("AWS::SQS::Queue")
        if q.endswith(("DeadLetterQueue", "FaultQueue"))
    }
    for name, alarm in t.of_type("AWS::CloudWatch::Alarm").items():
        for namespace, metric, dimensions in watched(t, alarm):
            on_resting = namespace == "AWS/SQS" and dict(dimensions)["QueueName"] in resting
            if on_resting and metric.startswith("ApproximateNumberOfMessages"):
                expression = [m["Expression"] for m in alarm.get("Metrics", []) if "Expression" in m]
                assert expression and expression[0].startswith("DIFF("), f"{name} latches on depth"


def test_every_fault_queue_alarms_on_any_arrival_and_the_delivery_dlq_on_a_rate():
    t = deployed()
    alarms = t.of_type("AWS::CloudWatch::Alarm")
    for queue in redrive_targets(t):
        name = t.physical[queue].attributes["QueueName"]
        on_it = [a for a in alarms.values() if any(dict(d).get("QueueName") == name for *_, d in watched(t, a))]
        assert on_it and all(t.resolve(a["Threshold"]) == 0 for a in on_it), queue
    rate = alarms["DeliveryDeadLetterAlarm"]
    assert rate["MetricName"] == "NumberOfMessagesSent" and rate["Threshold"] == {"Ref": "DeliveryDeadLettersPerHour"}
    assert alarms["EventsDeadLetterAlarm"]["MetricName"] == "NumberOfMessagesSent"


# -- N4, N15: concurrency inside AWS's bounds


def test_event_source_concurrency_parameters_have_awss_bounds():
    t = deployed()
    for props in t.of_type("AWS::Lambda::EventSourceMapping").values():
        spec = t.raw["Parameters"][props["ScalingConfig"]["MaximumConcurrency"]["Ref"]]
        assert (spec["MinValue"], spec["MaxValue"]) == (2, 1000)


def test_reserved_concurrency_is_a_parameter_that_reserves_none_by_default():
    t = deployed()
    for parameter in ("ApiReservedConcurrency", "AuthorizerReservedConcurrency"):
        spec = t.raw["Parameters"][parameter]
        assert spec["Default"] == -1 and spec["MinValue"] == -1 and spec["MaxValue"] <= 900
    assert t.raw["Globals"]["Function"]["ReservedConcurrentExecutions"]["Fn::If"][0] == "ReserveApiConcurrency"
    assert not t.condition("ReserveApiConcurrency") and not t.condition("ReserveAuthorizerConcurrency")
    authorizer = t.raw["Resources"]["AuthorizerFunction"]["Properties"]["ReservedConcurrentExecutions"]
    assert authorizer["Fn::If"][1] == {"Ref": "AuthorizerReservedConcurrency"}
    for queue_driven in ("FanoutFunction", "DeliverFunction"):  # capped by their event sources instead
        assert t.raw["Resources"][queue_driven]["Properties"]["ReservedConcurrentExecutions"] == {"Ref": "AWS::NoValue"}


# -- N7: every API function may count its caller


def test_every_function_with_a_route_and_an_authorizer_may_write_the_rate_counters():
    t = deployed()
    policy = t.raw["Resources"]["RateCountersPolicy"]["Properties"]
    allowed = {t.logical_id_of(role).removesuffix("Role") for role in policy["Roles"]}
    routed = {
        fn
        for fn in t.function_logical_ids()
        if any(
            e.get("Type") == "Api" and e["Properties"].get("Auth", {}).get("Authorizer") != "NONE"
            for e in t.function(fn).events.values()
        )
    }
    assert routed == allowed
    assert (
        t.resolve(policy["PolicyDocument"]["Statement"][0]["Resource"])
        == t.physical["RateCountersTable"].attributes["Arn"]
    )


# -- N11: logs


def test_the_log_level_reaches_lambda_and_every_choice_is_a_lambda_level():
    t = deployed()
    logging = t.raw["Globals"]["Function"]["LoggingConfig"]
    assert logging["ApplicationLogLevel"] == {"Fn::FindInMap": ["LambdaLogLevel", {"Ref": "LogLevel"}, "Level"]}
    for level in t.raw["Parameters"]["LogLevel"]["AllowedValues"]:
        chosen = deployed(LogLevel=level).resolve(logging["ApplicationLogLevel"])
        assert chosen in LAMBDA_LOG_LEVELS, level


def test_queue_driven_functions_keep_their_report_lines():
    t = deployed()
    for props in t.of_type("AWS::Lambda::EventSourceMapping").values():
        function = t.logical_id_of(props["FunctionName"])
        assert t.raw["Resources"][function]["Properties"]["LoggingConfig"]["SystemLogLevel"] == "INFO", function


# -- N14: local-only parameters stay local


def test_local_only_parameters_cannot_be_set_on_a_real_deploy():
    for name, value in {
        "AllowHttpUrls": "true",
        "AllowedPrivateNetworks": "10.0.0.0/8",
        "RetryDelayScale": "0.01",
    }.items():
        broken = deployed(**A_DESTINATION, **{name: value}).broken_rules()
        assert len(broken) == 1 and broken[0].startswith("LocalOnlyParametersStayLocal:"), name


def test_the_local_emulator_may_set_them():
    assert set(LOCAL_PARAMETERS) >= LOCAL_ONLY and LOCAL_PARAMETERS["DeployTarget"] == "local-emulator"
    assert deployed(**A_DESTINATION, **LOCAL_PARAMETERS).broken_rules() == []


def test_every_local_only_parameter_is_in_the_rule():
    rule = Template(TEMPLATE, stack_name=STACK_NAME, region=REGION).raw["Rules"]["LocalOnlyParametersStayLocal"]
    asserted: Any = {a["Assert"]["Fn::Equals"][0]["Ref"] for a in rule["Assertions"]}
    described = {
        name
        for name, spec in Template(TEMPLATE, stack_name=STACK_NAME, region=REGION).raw["Parameters"].items()
        if "local runs" in str(spec.get("Description", "")) and name != "DeployTarget"
    }
    assert LOCAL_ONLY | described <= asserted


# -- N8, N10: a stack rebuilt on retained data adopts them; nothing refers to what it does not create


def _references(value: Any, granted: frozenset[str], found: list[tuple[str, frozenset[str]]]) -> None:
    """Every resource name referred to (Ref, GetAtt, ${…} in Sub), with the conditions known true there."""
    if isinstance(value, list):
        for item in value:
            _references(item, granted, found)
    elif isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            condition, yes, no = value["Fn::If"]
            _references(yes, granted | {condition}, found)
            _references(no, granted, found)
            return
        for key, item in value.items():
            if key == "Ref":
                found.append((item, granted))
            elif key == "Fn::GetAtt":
                found.append((item[0], granted))
            elif key == "Fn::Sub":
                text = item if isinstance(item, str) else item[0]
                found += [(name.split(".")[0], granted) for name in re.findall(r"\$\{([^}!]+)\}", text)]
                if not isinstance(item, str):
                    _references(item[1], granted, found)
            else:
                _references(item, granted, found)


def unguarded_references(raw: dict) -> list[str]:
    # Resources a deployment may adopt instead of creating (the Existing… parameters).
    conditional = {
        name: spec["Condition"]
        for name, spec in raw["Resources"].items()
        if spec.get("Condition", "").startswith("New") or spec.get("Condition") == "CreateEventBus"
    }
    places = {f"Resources.{name}": (spec, spec.get("Condition")) for name, spec in raw["Resources"].items()}
    places |= {f"Outputs.{name}": (spec, spec.get("Condition")) for name, spec in raw.get("Outputs", {}).items()}
    places["Globals"] = (raw.get("Globals", {}), None)
    offenders = []
    for place, (spec, own) in places.items():
        found: list[tuple[str, frozenset[str]]] = []
        _references(spec, frozenset({own} if own else ()), found)
        for name, granted in found:
            if name in conditional and conditional[name] not in granted:
                offenders.append(f"{place} → {name} (needs !If [{conditional[name]}, …])")
    return offenders


def test_every_reference_to_an_adoptable_resource_says_what_to_use_when_it_is_adopted():
    raw = Template(TEMPLATE, stack_name=STACK_NAME, region=REGION).raw
    assert unguarded_references(raw) == []
    assert {"NewSecretsKey", "NewWebhooksTable", "NewApiLogsTable", "NewApiKeysTable", "NewDeliveriesTable"} <= {
        spec.get("Condition") for spec in raw["Resources"].values()
    }


def test_the_reference_check_finds_a_policy_that_assumes_the_table_exists():
    raw = json.loads(json.dumps(Template(TEMPLATE, stack_name=STACK_NAME, region=REGION).raw))
    raw["Resources"]["ListLogsFunction"]["Properties"]["Policies"][0]["Statement"][0]["Resource"] = {
        "Fn::GetAtt": ["ApiLogsTable", "Arn"]
    }
    assert unguarded_references(raw) == ["Resources.ListLogsFunction → ApiLogsTable (needs !If [NewApiLogsTable, …])"]


def test_an_adopted_deployment_names_the_earlier_stacks_resources_everywhere():
    adopted = {
        "ExistingSecretsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/old",
        "ExistingWebhooksTableName": "old-webhooks",
        "ExistingApiLogsTableName": "old-logs",
        "ExistingApiKeysTableName": "old-keys",
        "ExistingDeliveriesTableName": "old-deliveries",
        "ExistingIdempotencyTableName": "old-claims",
        "ExistingPayloadsTableName": "old-payloads",
        "ExistingListenTableName": "old-listen",
        "ExistingControlTableName": "old-control",
        "ExistingEventBusName": "platform-events",
    }
    t = deployed(**adopted)
    environment = t.globals_environment()
    assert (environment["WEBHOOKS_TABLE"], environment["SECRETS_KEY_ID"]) == (
        "old-webhooks",
        adopted["ExistingSecretsKeyArn"],
    )
    functions = t.of_type("AWS::Serverless::Function").values()
    statements = [s for props in functions for policy in props.get("Policies", []) for s in policy["Statement"]]
    resources: set[str] = set()
    for statement in statements:
        named = t.resolve(statement["Resource"])
        resources |= set(named if isinstance(named, list) else [named])
    assert "arn:aws:dynamodb:us-east-1:123456789012:table/old-deliveries/index/FailedByWebhook" in resources
    assert not any("events-api-local-" in r and ":table/" in r and "RateCounters" not in r for r in resources)


def test_the_rewriter_guards_new_references_and_leaves_guarded_ones_alone(tmp_path):
    """After a merge adds a function whose policy names a table directly, `python -m
    eventsapi.local.adoptable template.yaml` guards it; a guarded template is left as it is."""
    from eventsapi.local.adoptable import guard
    from eventsapi.local.template import load_yaml

    text = TEMPLATE.read_text()
    assert guard(text) == text
    added = text.replace(
        "\nOutputs:\n",
        "\n  NewFeatureFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      Policies:\n        - Statement:\n            - Effect: Allow\n              Action: [dynamodb:Query]\n"
        '              Resource: [!GetAtt WebhooksTable.Arn, !Sub "${DeliveriesTable.Arn}/index/FailedByWebhook"]\n'
        "      Environment: {Variables: {KEY: !GetAtt SecretsKey.Arn, LOGS: !Ref ApiLogsTable}}\n"
        "\nOutputs:\n",
    )
    path = tmp_path / "template.yaml"
    path.write_text(added)
    assert len(unguarded_references(load_yaml(path))) == 4
    path.write_text(guard(added))
    assert unguarded_references(load_yaml(path)) == []
