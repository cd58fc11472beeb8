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

from eventsapi.deploy.evaluate import Deployment
from eventsapi.deploy.transform import transform_file
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
API_METRICS = ("5XXError", "4XXError", "Latency", "Count", "IntegrationLatency")
LAMBDA_LOG_LEVELS = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
LOCAL_ONLY = {"AllowHttpUrls", "AllowedPrivateNetworks", "RetryDelayScale"}
A_DESTINATION = {"AlarmEmail": "ops@invoratec.example"}
LONG_POLL = ("/v1/events/listen/{sessionId}/next", "GET")


def deployed(**parameters: str) -> Deployment:
    """What AWS creates: the packaged template through the real SAM transform, with these parameters."""
    return Deployment(transform_file(TEMPLATE, parameters), parameters, stack_name=STACK_NAME, region=REGION)


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


def published(d: Deployment) -> set[tuple[str, str, frozenset]]:
    """(namespace, metric name, dimensions) of every series this deployment puts in CloudWatch that
    an alarm may watch: AWS's own, named as AWS names them, and ours as Powertools writes them."""
    series: set[tuple[str, str, frozenset]] = set()
    for queue in d.of_type("AWS::SQS::Queue"):
        name = d.attribute(queue, "QueueName")
        series |= {("AWS/SQS", metric, frozenset({("QueueName", name)})) for metric in SQS_METRICS}
    for function in d.functions():
        name = d.ref(function)
        series |= {("AWS/Lambda", m, frozenset({("FunctionName", name)})) for m in ("Errors", "Throttles", "Duration")}
    for rule, props in d.of_type("AWS::Events::Rule").items():
        bus = d.resolve(props.get("EventBusName", "default"))
        rule_name = d.attribute(rule, "Arn").rsplit("/", 1)[1]  # EventBridge's own name for it
        dimensions = frozenset({("EventBusName", bus), ("RuleName", rule_name)})
        series |= {("AWS/Events", m, dimensions) for m in ("FailedInvocations", "InvocationsSentToDlq", "Invocations")}
    for stage in d.of_type("AWS::ApiGateway::Stage").values():
        api = d.resolve(d.of_type("AWS::ApiGateway::RestApi")[d.logical_id_of(stage["RestApiId"])]["Name"])
        stage_name = d.resolve(stage["StageName"])
        whole = frozenset({("ApiName", api), ("Stage", stage_name)})
        series |= {("AWS/ApiGateway", m, whole) for m in API_METRICS}
        for setting in stage.get("MethodSettings", []):  # detailed metrics: per method, where enabled
            if setting.get("MetricsEnabled") and setting["HttpMethod"] != "*":
                resource = setting["ResourcePath"].removeprefix("/").replace("~1", "/")  # "/~1v1" is /v1
                method = frozenset({*whole, ("Method", setting["HttpMethod"]), ("Resource", resource)})
                series |= {("AWS/ApiGateway", m, method) for m in API_METRICS}
    environment = d.environment("DeliverFunction")
    ours = frozenset({("service", environment["POWERTOOLS_SERVICE_NAME"])})
    series |= {(environment["POWERTOOLS_METRICS_NAMESPACE"], m, ours) for m in emitted_metrics()}
    return series


def watched(d: Deployment, alarm: dict) -> list[tuple[str, str, frozenset]]:
    """The series an alarm reads, resolved as CloudFormation would create it."""
    alarm = d.resolve(alarm)
    stats = [m["MetricStat"]["Metric"] for m in alarm.get("Metrics", []) if "MetricStat" in m] or [alarm]
    return [
        (s["Namespace"], s["MetricName"], frozenset((d["Name"], d["Value"]) for d in s.get("Dimensions", [])))
        for s in stats
    ]


def missing_series(d: Deployment, alarms: dict[str, dict]) -> dict[str, list]:
    available = published(d)
    return {
        name: [series for series in watched(d, alarm) if series not in available]
        for name, alarm in alarms.items()
        if any(series not in available for series in watched(d, alarm))
    }


# -- N2: every alarm watches a series that exists


@pytest.mark.parametrize("parameters", [{}, {"ExistingEventBusName": "the-platform"}])
def test_every_alarm_watches_a_series_that_is_really_published(parameters):
    d = deployed(**parameters)
    alarms = d.of_type("AWS::CloudWatch::Alarm")
    assert len(alarms) >= 14
    assert missing_series(d, alarms) == {}


def test_the_check_catches_an_alarm_on_the_rules_ref_which_is_bus_pipe_rule():
    d = deployed()
    alarm = json.loads(json.dumps(d.of_type("AWS::CloudWatch::Alarm")["RuleFailedInvocationsAlarm"]))
    alarm["Dimensions"][1]["Value"] = {"Ref": "PlatformEventsRule"}  # the form the review found
    assert d.resolve({"Ref": "PlatformEventsRule"}).startswith("platform-events|")
    assert list(missing_series(d, {"old": alarm})) == ["old"]


def test_the_ours_namespace_and_dimension_are_what_powertools_writes(monkeypatch):
    """The series the EventsApi alarms watch, as Powertools serialises them under the template's environment."""
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    environment = deployed().environment("DeliverFunction")
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


# -- deploy review M1: the latency alarm leaves the listen long poll out


def test_the_latency_alarm_reads_the_stage_less_the_long_poll():
    d = deployed()
    assert d.routes()[LONG_POLL][0] == "NextListenDeliveriesFunction"
    assert int(d.functions()["NextListenDeliveriesFunction"]["Timeout"]) > 3  # it waits by design
    alarm = d.of_type("AWS::CloudWatch::Alarm")["ApiLatencyAlarm"]
    assert "ExtendedStatistic" not in alarm and "MetricName" not in alarm  # not the stage's raw p99
    series = {(m, frozenset(dict(dims).items())) for _, m, dims in watched(d, alarm)}
    poll = {("Method", LONG_POLL[1]), ("Resource", LONG_POLL[0])}
    assert {m for m, dims in series if poll <= dims} == {"Count", "Latency"}
    assert {m for m, dims in series if not poll & dims} == {"Count", "Latency"}
    [expression] = [m for m in alarm["Metrics"] if m.get("ReturnData", True)]
    by_id = {m["Id"]: m for m in alarm["Metrics"]}
    for used in re.findall(r"[a-z]\w*(?=[,) ])", expression["Expression"]):
        if used in by_id:
            assert by_id[used].get("ReturnData") is False
    assert [m["MetricStat"]["Stat"] for m in alarm["Metrics"] if "MetricStat" in m and "Latency" in str(m)] == [
        "PR(:3000)",
        "PR(:3000)",
    ]
    assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanThreshold"  # p99 > 3 s


def _slow_share(calls: float, fast: float, polls: float, fast_polls: float) -> float:
    """The alarm's expression, evaluated: % of request/response calls slower than 3 s."""
    [expression] = [
        m["Expression"]
        for m in deployed().of_type("AWS::CloudWatch::Alarm")["ApiLatencyAlarm"]["Metrics"]
        if "Expression" in m
    ]
    python = re.sub(r"FILL\((\w+), (\d+)\)", r"\1", expression.replace("\n", " "))
    python = re.sub(r"IF\((.*) > 0,(.*), 0\)$", r"((\2) if (\1) > 0 else 0)", python.strip())
    return eval(python, {}, {"calls": calls, "fast": fast, "polls": polls, "fastpolls": fast_polls})  # noqa: S307


def test_a_listener_alone_does_not_raise_the_latency_alarm_and_slow_calls_do():
    # 15 polls of 20 s in 5 minutes and 100 quick calls: the stage's p99 is 20 s, ours is quick.
    assert _slow_share(calls=115, fast=100 * 100 / 115, polls=15, fast_polls=0) == pytest.approx(0)
    # 100 calls of which 5 took 4 s, no listener: 5 % are slow.
    assert _slow_share(calls=100, fast=95, polls=0, fast_polls=100) == pytest.approx(5)


# -- deploy review M2: the stage throttle is far above one developer's limit


def test_the_stage_throttle_admits_many_developers_at_their_limit():
    parameters = deployed().template["Parameters"]
    developers_at_once = 50
    assert int(parameters["ThrottlingRateLimit"]["Default"]) >= developers_at_once * int(
        parameters["DeveloperRateLimit"]["Default"]
    )
    assert int(parameters["ThrottlingBurstLimit"]["Default"]) >= developers_at_once * int(
        parameters["DeveloperBurstLimit"]["Default"]
    )
    assert int(parameters["ThrottlingRateLimit"]["MaxValue"]) <= 10000  # the account's own bound
    [stage] = deployed().of_type("AWS::ApiGateway::Stage").values()
    for setting in stage["MethodSettings"]:
        assert setting["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"}, setting["ResourcePath"]
    limits = (ROOT / "docs/operators.md").read_text()  # its "Limits"
    assert "WAF rate-based rule keyed on the `X-API-Key` header" in limits


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


@pytest.mark.parametrize("environment", ["default", "ci", "prod"])
def test_every_samconfig_environment_names_a_destination_that_must_be_replaced(environment):
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    overrides = config[environment]["deploy"]["parameters"]["parameter_overrides"]
    given = dict(pair.split("=", 1) for pair in overrides.split())
    assert {"AlarmEmail", "AlarmTopicArn"} & set(given)
    pattern = deployed().template["Parameters"]["AlarmEmail"]["AllowedPattern"]
    assert not re.fullmatch(pattern, given["AlarmEmail"]), "the placeholder must fail until replaced"
    assert re.fullmatch(pattern, "ops@invoratec.cn") and re.fullmatch(pattern, "")


# -- N5: dead letters mean one thing per queue, and no alarm latches


def redrive_targets(d: Deployment) -> set[str]:
    return {
        d.logical_id_of(props["RedrivePolicy"]["deadLetterTargetArn"])
        for props in d.of_type("AWS::SQS::Queue").values()
        if "RedrivePolicy" in props
    }


def test_crashed_messages_rest_in_fault_queues_apart_from_tenants_failed_posts():
    d = deployed()
    assert redrive_targets(d) == {"EventsFaultQueue", "DeliveryFaultQueue", "ExpungeFaultQueue"}
    environment = d.environment("DeliverFunction")
    assert environment["DELIVERY_DLQ_URL"] == d.ref("DeliveryDeadLetterQueue")
    assert environment["DELIVERY_FAULT_QUEUE_URL"] == d.ref("DeliveryFaultQueue")


def resting_queues(d: Deployment) -> set[str]:
    return {q for q in d.of_type("AWS::SQS::Queue") if q.endswith(("DeadLetterQueue", "FaultQueue"))}


def test_no_alarm_watches_the_standing_depth_of_a_dead_letter_queue():
    """Depth > 0 stays in ALARM for the 14 days a letter is kept: later letters never notify."""
    d = deployed()
    resting = {d.attribute(q, "QueueName") for q in resting_queues(d)}
    for name, alarm in d.of_type("AWS::CloudWatch::Alarm").items():
        for namespace, metric, dimensions in watched(d, alarm):
            on_resting = namespace == "AWS/SQS" and dict(dimensions)["QueueName"] in resting
            if on_resting and metric.startswith("ApproximateNumberOfMessages"):
                expression = [m["Expression"] for m in alarm.get("Metrics", []) if "Expression" in m]
                assert expression and expression[0].startswith("DIFF("), f"{name} latches on depth"


def test_every_fault_queue_alarms_on_any_arrival_and_the_delivery_dlq_on_a_rate():
    d = deployed()
    alarms = d.of_type("AWS::CloudWatch::Alarm")
    for queue in redrive_targets(d):
        name = d.attribute(queue, "QueueName")
        on_it = [a for a in alarms.values() if any(dict(dims).get("QueueName") == name for *_, dims in watched(d, a))]
        assert on_it and all(d.resolve(a["Threshold"]) == 0 for a in on_it), queue
    rate = alarms["DeliveryDeadLetterAlarm"]
    assert rate["MetricName"] == "NumberOfMessagesSent" and rate["Threshold"] == {"Ref": "DeliveryDeadLettersPerHour"}
    assert alarms["EventsDeadLetterAlarm"]["MetricName"] == "NumberOfMessagesSent"


def test_the_dashboard_shows_every_dead_letter_and_fault_queue():
    """deploy review L9."""
    d = deployed()
    body = d.resolve(d.of_type("AWS::CloudWatch::Dashboard")["Dashboard"]["DashboardBody"])
    shown = set(re.findall(r'"QueueName", "([^"]+)"', body))
    assert {d.attribute(q, "QueueName") for q in resting_queues(d)} <= shown
    assert len(resting_queues(d)) == 6


# -- deploy review L2: a dead-letter queue outlives what it receives


def test_dead_letter_and_fault_queues_keep_messages_longer_than_their_sources():
    d = deployed()
    queues = d.of_type("AWS::SQS::Queue")
    retention = {name: int(d.resolve(props.get("MessageRetentionPeriod", 345600))) for name, props in queues.items()}
    sources = {
        name: d.logical_id_of(props["RedrivePolicy"]["deadLetterTargetArn"])
        for name, props in queues.items()
        if "RedrivePolicy" in props
    }
    # Where the code dead-letters what it took from a queue (the message's life goes on there).
    sources_by_code = {"DeliveryQueue": "DeliveryDeadLetterQueue", "EventsQueue": "EventsDeadLetterQueue"}
    for source, resting in [*sources.items(), *sources_by_code.items()]:
        assert retention[resting] > retention[source], (source, resting)
    # The longest a message waits in the delivery queue: one retry's hop (SQS delays up to 900 s),
    # and the visibility of every receive before the fault queue takes it.
    schedule = [int(s) for s in d.resolve(d.ref("RetrySchedule")).split(",")]
    longest_wait = min(max(schedule), 900) + 12 * int(queues["DeliveryQueue"]["VisibilityTimeout"])
    assert retention["DeliveryQueue"] >= longest_wait
    # Were every hop one message (no hops), the whole chain of retries would still fit.
    assert retention["DeliveryQueue"] >= sum(schedule) + int(d.resolve(d.ref("MaxRetryAfterSeconds")))


# -- N4, N15, M4: concurrency inside AWS's bounds


def test_event_source_concurrency_parameters_have_awss_bounds():
    d = deployed()
    for props in d.of_type("AWS::Lambda::EventSourceMapping").values():
        if "ScalingConfig" in props:
            spec = d.template["Parameters"][props["ScalingConfig"]["MaximumConcurrency"]["Ref"]]
            assert (spec["MinValue"], spec["MaxValue"]) == (2, 1000)


def test_reserved_concurrency_is_a_parameter_that_reserves_none_by_default():
    d = deployed()
    for parameter in ("ApiReservedConcurrency", "AuthorizerReservedConcurrency"):
        spec = d.template["Parameters"][parameter]
        assert spec["Default"] == -1 and spec["MinValue"] == -1
    assert not d.condition("ReserveApiConcurrency") and not d.condition("ReserveAuthorizerConcurrency")
    functions = d.functions()
    authorizer = functions["AuthorizerFunction"]["ReservedConcurrentExecutions"]
    assert authorizer["Fn::If"][1] == {"Ref": "AuthorizerReservedConcurrency"}
    for queue_driven in ("FanoutFunction", "DeliverFunction"):  # capped by their event sources instead
        assert functions[queue_driven]["ReservedConcurrentExecutions"] == {"Ref": "AWS::NoValue"}


def test_no_allowed_reservation_can_fail_a_deploy_on_an_account_of_1000():
    """deploy review M4: ApiReservedConcurrency applies to every API function, not once."""
    d = deployed(ApiReservedConcurrency="1")
    reserving = [
        name
        for name, props in d.functions().items()
        if d.resolve(props.get("ReservedConcurrentExecutions", {"Ref": "AWS::NoValue"})) == "1"
    ]
    spec = d.template["Parameters"]
    assert len(reserving) == 36
    assert f"× {len(reserving)}" in spec["ApiReservedConcurrency"]["Description"]
    total = len(reserving) * int(spec["ApiReservedConcurrency"]["MaxValue"]) + int(
        spec["AuthorizerReservedConcurrency"]["MaxValue"]
    )
    assert total <= 1000 - 100  # Lambda keeps 100 of the account's 1,000 unreserved


# -- N7: every API function may count its caller


def test_every_function_with_a_route_and_an_authorizer_may_write_the_rate_counters():
    d = deployed()
    policy = d.of_type("AWS::IAM::Policy")["RateCountersPolicy"]
    allowed = {d.logical_id_of(role).removesuffix("Role") for role in policy["Roles"]}
    routed = {function for function, authorizer in d.routes().values() if authorizer is not None}
    assert routed == allowed
    assert d.resolve(policy["PolicyDocument"]["Statement"][0]["Resource"]) == d.attribute("RateCountersTable", "Arn")


# -- deploy review L4: nothing of the stack can forge API-call log lines


def test_no_role_of_the_stack_may_write_the_groups_that_feed_api_call_logs():
    d = deployed()
    feeding = {
        d.logical_id_of(props["LogGroupName"])
        for props in d.of_type("AWS::Logs::SubscriptionFilter").values()
        if d.logical_id_of(props["DestinationArn"]) == "IngestApiLogsFunction"
    }
    assert feeding == {"ApiAccessLogs", "ServiceCallLogs"}
    for function in d.functions():
        denied = [
            s
            for s in d.statements(function)
            if s["Effect"] == "Deny" and "logs:PutLogEvents" in s["Action"] and "logs:CreateLogStream" in s["Action"]
        ]
        assert denied, f"{function} may write the API-call log groups"
        assert {d.logical_id_of(r) for r in denied[0]["Resource"]} == feeding


def test_only_the_stacks_own_log_groups_may_invoke_the_ingest():
    d = deployed()
    permissions = {
        name: props
        for name, props in d.of_type("AWS::Lambda::Permission").items()
        if props["Principal"] == "logs.amazonaws.com"
    }
    assert list(permissions) == ["IngestApiLogsPermission"]
    source = d.resolve(permissions["IngestApiLogsPermission"]["SourceArn"])
    assert source == f"arn:aws:logs:{REGION}:123456789012:log-group:{STACK_NAME}-*"
    attached = deployed(AttachedLogGroupPrefix="/platform/api-access/")
    extra = attached.resolve(attached.of_type("AWS::Lambda::Permission")["IngestAttachedLogsPermission"]["SourceArn"])
    assert extra.endswith(":log-group:/platform/api-access/*")


# -- N11: logs


def test_the_log_level_reaches_lambda_and_every_choice_is_a_lambda_level():
    d = deployed()
    for level in d.template["Parameters"]["LogLevel"]["AllowedValues"]:
        chosen = deployed(LogLevel=level)
        for props in chosen.functions().values():
            assert chosen.resolve(props["LoggingConfig"]["ApplicationLogLevel"]) in LAMBDA_LOG_LEVELS, level


def test_queue_driven_functions_keep_their_report_lines():
    d = deployed()
    for props in d.of_type("AWS::Lambda::EventSourceMapping").values():
        function = d.logical_id_of(props["FunctionName"])
        assert d.functions()[function]["LoggingConfig"]["SystemLogLevel"] == "INFO", function


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
    rule = deployed().template["Rules"]["LocalOnlyParametersStayLocal"]
    asserted: Any = {a["Assert"]["Fn::Equals"][0]["Ref"] for a in rule["Assertions"]}
    described = {
        name
        for name, spec in deployed().template["Parameters"].items()
        if "local runs" in str(spec.get("Description", "")) and name != "DeployTarget"
    }
    assert LOCAL_ONLY | described <= asserted


# -- deploy review L7: README and docs/cost.md agree


USER_DOCS = ("README.md", "docs/receivers.md", "docs/producers.md", "docs/api.md", "docs/operators.md")


def test_the_docs_quote_the_cost_figures_docs_cost_prints():
    cost = (ROOT / "docs/cost.md").read_text()
    limits = (ROOT / "docs/operators.md").read_text()  # its "Limits" totals the API call's cost
    readme = "\n".join((ROOT / name).read_text() for name in USER_DOCS)
    heading = r"## ([a-z]+-[a-z]+-\d)\n\nTotals: "
    totals = dict(re.findall(heading + r"\*\*\$[\d.]+\*\* per million events delivered, \*\*\$([\d.]+)\*\*", cost))
    assert set(totals) >= {"us-east-1", "ap-southeast-1"}
    assert f"**${totals['us-east-1']} at us-east-1" in limits
    assert f"At ap-southeast-1 prices the same lines come to ${totals['ap-southeast-1']}." in limits
    quoted = set(re.findall(r"\$(\d+\.\d\d) (?:per million|a million)", readme))
    printed = set(re.findall(r"\$?(\d+\.\d\d)", cost))
    assert quoted <= printed, quoted - printed


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
    raw = Template(TEMPLATE, stack_name=STACK_NAME, region=REGION).sam  # the SAM source: where a guard is written
    assert unguarded_references(raw) == []
    assert {"NewSecretsKey", "NewWebhooksTable", "NewApiLogsTable", "NewApiKeysTable", "NewDeliveriesTable"} <= {
        spec.get("Condition") for spec in raw["Resources"].values()
    }


def test_the_reference_check_finds_a_policy_that_assumes_the_table_exists():
    raw = json.loads(json.dumps(Template(TEMPLATE, stack_name=STACK_NAME, region=REGION).sam))
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
    d = deployed(**adopted)
    environment = d.environment("DeliverFunction")
    assert (environment["WEBHOOKS_TABLE"], environment["SECRETS_KEY_ID"]) == (
        "old-webhooks",
        adopted["ExistingSecretsKeyArn"],
    )
    resources: set[str] = set()
    for function in d.functions():
        for statement in d.statements(function):
            named = d.resolve(statement["Resource"])
            resources |= set(named if isinstance(named, list) else [named])
    assert "arn:aws:dynamodb:us-east-1:123456789012:table/old-deliveries/index/FailedByWebhook" in resources
    assert not any(f"{STACK_NAME}-" in r and ":table/" in r and "RateCounters" not in r for r in resources)


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
