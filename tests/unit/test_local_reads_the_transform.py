"""`eventsapi run` serves what AWS would create: the template read through the SAM transform, so a
template the transform refuses does not run, and routes, authorizers and schedules are the
transformed template's."""

import re
import threading

import pytest

from eventsapi import cli
from eventsapi.local.gateway import LocalGateway
from eventsapi.local.schedules import schedules
from eventsapi.local.template import Physical, Template, TemplateRejected
from eventsapi.local.wiring import REGION, STACK_NAME, TEMPLATE


def variant(tmp_path, old: str, new: str, count: int = 1):
    text = TEMPLATE.read_text()
    assert old in text
    path = tmp_path / "template.yaml"
    path.write_text(text.replace(old, new, count))
    return path


def read(path=TEMPLATE, **overrides) -> Template:
    return Template(path, stack_name=STACK_NAME, region=REGION, overrides=overrides)


def test_run_refuses_a_template_the_transform_rejects_in_one_line(tmp_path, capsys):
    rejected = variant(tmp_path, "Auth: {Authorizer: NONE}", "Auth: {Authorizer: NONE, ApiKeyRequired: false}")
    code = cli.main(["run", "--template", str(rejected), "--port", "0", "--moto-port", "0"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Unable to set ApiKeyRequired [False]" in err
    with pytest.raises(TemplateRejected, match="ApiKeyRequired"):
        read(rejected)


def test_the_gateway_serves_the_routes_and_authorizers_of_the_transformed_api():
    template = read()
    gateway = LocalGateway(template, {}, "EventsApi")
    served = {(r.method, r.resource, r.function, r.authorizer) for r in gateway.routes}
    # What the transformed RestApi body declares, read here independently of the gateway.
    body = template.raw["Resources"]["EventsApi"]["Properties"]["Body"]
    declared = set()
    for path, item in body["paths"].items():
        for method, operation in item.items():
            uri = str(operation["x-amazon-apigateway-integration"]["uri"])
            function = re.search(r"functions/\$\{(\w+)\.Arn\}", uri).group(1)
            security = [name for requirement in operation.get("security", []) for name in requirement]
            authorizer = next((name for name in security if name != "NONE"), None)
            declared.add((method.upper(), path, function, authorizer))
    assert served == declared
    # And what the SAM source asked for: every Api event, behind the default authorizer unless NONE.
    asked = set()
    for logical_id, resource in template.sam["Resources"].items():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event["Type"] == "Api":
                props = event["Properties"]
                chosen = props.get("Auth", {}).get("Authorizer", "ApiKeyAuthorizer")
                asked.add((props["Method"].upper(), props["Path"], logical_id, None if chosen == "NONE" else chosen))
    assert served == asked
    assert gateway.authorizers["ApiKeyAuthorizer"].function == "AuthorizerFunction"
    assert gateway.authorizers["ApiKeyAuthorizer"].headers == ["X-API-Key"]


def test_a_template_wired_differently_runs_differently(tmp_path):
    """The verify link without its `Authorizer: NONE` is behind the default authorizer after the
    transform, and so it is behind it locally."""

    def verify_link(path) -> str | None:
        routes = LocalGateway(read(path), {}, "EventsApi").routes
        return next(r.authorizer for r in routes if (r.method, r.resource) == ("GET", "/v1/events/verify"))

    assert verify_link(TEMPLATE) is None
    assert verify_link(variant(tmp_path, "\n            Auth: {Authorizer: NONE}", "")) == "ApiKeyAuthorizer"


def test_parameters_reach_the_authorizer_as_the_transform_resolves_them():
    gateway = LocalGateway(read(AuthorizerCacheSeconds="7"), {}, "EventsApi")
    assert gateway.authorizers["ApiKeyAuthorizer"].ttl == 7


def test_functions_are_the_transformed_ones_with_globals_merged():
    template = read()
    spec = template.function("FanoutFunction")
    assert spec.module_path == TEMPLATE.parent / "functions" / "fanout" / "app.py"
    assert "WEBHOOKS_TABLE" in spec.environment  # SAM Globals, merged by the transform
    assert set(template.function_logical_ids()) == {
        name for name, r in template.sam["Resources"].items() if r["Type"] == "AWS::Serverless::Function"
    }


class _Recorder:
    def __init__(self):
        self.events: list[dict] = []
        self.fired = threading.Event()
        self.spec = type("Spec", (), {"logical_id": "ListEventTypesFunction"})

    def invoke(self, event: dict) -> None:
        self.events.append(event)
        self.fired.set()


def test_a_scheduled_function_runs_on_a_local_timer(tmp_path):
    scheduled = variant(
        tmp_path,
        "      LoggingConfig: {LogGroup: !Ref ListEventTypesFunctionLogs}\n      Events:\n",
        "      LoggingConfig: {LogGroup: !Ref ListEventTypesFunctionLogs}\n      Events:\n"
        "        Tick:\n          Type: Schedule\n          Properties: {Schedule: rate(1 day)}\n",
    )
    template = read(scheduled)
    ((rule, expression, _),) = [s for s in template.schedules() if s[2] == "ListEventTypesFunction"]
    assert expression == "rate(1 day)"
    for each, _, _ in template.schedules():
        template.physical[each] = Physical(each, {"Arn": f"arn:aws:events:{REGION}:123456789012:rule/{each}"})
    recorder = _Recorder()
    functions = {
        name: recorder if name == "ListEventTypesFunction" else _Recorder() for _, _, name in template.schedules()
    }
    (timer,) = [t for t in schedules(template, functions, max_interval=0.05) if t.function is recorder]  # type: ignore[arg-type]
    timer.start()
    try:
        assert recorder.fired.wait(10)
    finally:
        timer.stop()
    assert recorder.events[0]["detail-type"] == "Scheduled Event"
    assert recorder.events[0]["resources"] == [template.physical[rule].attributes["Arn"]]
