"""The template is the single source of truth: every function it declares must load through its
CodeUri and Handler, and every sample event must name a function that exists."""

import ast
from pathlib import Path

import pytest

from eventsapi.local.invoke import LocalFunction
from eventsapi.local.template import Template
from eventsapi.local.wiring import REGION, STACK_NAME, TEMPLATE

ROOT = TEMPLATE.parent
DEPLOYED_CODE = [*sorted((ROOT / "functions").rglob("*.py")), *sorted((ROOT / "layers").rglob("*.py"))]


@pytest.fixture(scope="module")
def template() -> Template:
    return Template(TEMPLATE, stack_name=STACK_NAME, region=REGION)


def test_runtime_and_architecture_are_lambdas(template):
    """As AWS creates them (the transform merges SAM's Globals into every function)."""
    for props in template.of_type("AWS::Lambda::Function").values():
        assert props["Runtime"] == "python3.13"
        assert props["Architectures"] == ["arm64"]


@pytest.mark.parametrize("logical_id", Template(TEMPLATE, stack_name=STACK_NAME, region=REGION).function_logical_ids())
def test_every_handler_path_resolves_to_a_function(template, logical_id):
    spec = template.function(logical_id)
    module = ast.parse(spec.module_path.read_text())
    defined = {
        node.targets[0].id
        for node in module.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    defined |= {node.name for node in module.body if isinstance(node, ast.FunctionDef)}
    assert spec.attribute in defined, f"{logical_id}: {spec.handler} not defined in {spec.module_path}"


def test_a_wrong_handler_path_fails(template):
    spec = template.function("ListEventTypesFunction")
    spec.handler = "app.no_such_handler"
    with pytest.raises(AttributeError, match="no_such_handler"):
        LocalFunction(spec, "x", "arn").invoke({})
    spec.handler = "missing.lambda_handler"
    with pytest.raises(FileNotFoundError):
        LocalFunction(spec, "x", "arn").invoke({})


def test_every_function_has_a_sample_event():
    folders = [path.name for path in (ROOT / "functions").iterdir() if path.is_dir()]
    missing = [name for name in folders if not list((ROOT / "events").glob(f"{name}*.json"))]
    assert missing == []


def test_intrinsics_resolve_parameters_and_pseudo_parameters(template):
    assert template.resolve({"Fn::Sub": "${AWS::StackName}-common"}) == f"{STACK_NAME}-common"
    assert template.resolve({"Ref": "StageName"}) == "prod"


def _scan_calls(path: Path, root: Path = ROOT) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr in ("scan", "parallel_scan"):
            found.append(f"{path.relative_to(root)}:{node.lineno}")
        if isinstance(node, ast.Constant) and node.value == "Scan":
            found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_no_deployed_code_can_scan():
    offenders = [hit for path in DEPLOYED_CODE for hit in _scan_calls(path)]
    assert offenders == []


def test_the_scan_detector_finds_a_scan(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f(table):\n    return table.scan()\n")
    assert _scan_calls(sample, tmp_path) == ["sample.py:2"]


def test_queues_are_wired_as_the_design_requires(template):
    """Visibility ≥ 6 × the consumer's timeout, partial batch responses, 14-day dead-letter queues."""
    queues = template.of_type("AWS::SQS::Queue")
    mappings = template.of_type("AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 3  # fan-out, delivery, expunge
    for mapping in mappings.values():
        spec = template.function(template.logical_id_of(mapping["FunctionName"]))
        queue = queues[template.logical_id_of(mapping["EventSourceArn"])]
        assert int(queue["VisibilityTimeout"]) >= 6 * spec.timeout, spec.logical_id
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        dead_letter = queues[template.logical_id_of(queue["RedrivePolicy"]["deadLetterTargetArn"])]
        assert int(dead_letter["MessageRetentionPeriod"]) == 14 * 86400
