"""The event catalogue is the one declaration of the event types: every other place that names
them, their fields or their examples reads it or agrees with it here."""

import copy
import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft7Validator, Draft202012Validator

from events_core.catalogue import declarations, find, names
from events_core.catalogue.validation import SchemaError, unsupported_keywords, validate
from events_core.errors import BadRequest, NotFound
from events_core.event_types import EVENT_TYPES
from events_core.schemas import check, data_for_test_send
from eventsapi.harness import contract

ROOT = Path(__file__).resolve().parents[2]

# The reference's table "各事件的 data 字段", verbatim: the contract the schemas must require.
REFERENCE_FIELDS = {
    "tool.executed": ["toolName", "input", "result", "elapsed_ms"],
    "tool.failed": ["toolName", "input", "error"],
    "workflow.completed": ["workflowId", "workflowName", "runId", "status", "stepResults"],
    "workflow.failed": ["workflowId", "workflowName", "runId", "error"],
    "knowledge.updated": ["knowledgeId", "action", "documentTitle"],
    "graph.synced": ["graphId", "nodesWritten", "edgesWritten"],
    "alert.triggered": ["alertType", "source", "message", "severity"],
    "ai.conversation": ["model", "inputTokens", "outputTokens"],
    "app.installed": ["appId", "appName"],
    "app.configured": ["appId", "appName"],
}
REFERENCE_ORDER = [
    "app.installed",
    "app.configured",
    "tool.executed",
    "tool.failed",
    "knowledge.updated",
    "graph.synced",
    "workflow.completed",
    "workflow.failed",
    "alert.triggered",
    "ai.conversation",
]
DECLARED = {declared.name: declared for declared in declarations()}


def test_the_catalogue_declares_the_reference_types_in_its_order():
    assert list(names()) == REFERENCE_ORDER == list(EVENT_TYPES)


@pytest.mark.parametrize("name", REFERENCE_ORDER)
def test_each_declaration_is_complete_and_requires_the_references_fields(name):
    declared = DECLARED[name]
    assert declared.description.strip() and isinstance(declared.version, int) and declared.version >= 1
    assert declared.examples, "at least one example"
    assert declared.schema["type"] == "object"
    assert declared.schema["required"] == REFERENCE_FIELDS[name]
    assert set(REFERENCE_FIELDS[name]) <= set(declared.fields)
    assert declared.schema.get("additionalProperties", True) is True, "extra fields are allowed"


@pytest.mark.parametrize("name", REFERENCE_ORDER)
def test_every_example_validates_and_extra_fields_are_allowed(name):
    for example in DECLARED[name].examples:
        assert validate(name, example) == []
        assert validate(name, {**example, "test": True, "webhookId": "x"}) == []


@pytest.mark.parametrize("name", REFERENCE_ORDER)
def test_schemas_are_draft_07_and_openapi_3_1_and_run_no_regular_expression(name):
    schema = DECLARED[name].schema
    Draft7Validator.check_schema(schema)
    Draft202012Validator.check_schema(schema)  # OpenAPI 3.1's dialect
    assert unsupported_keywords(schema) == []
    assert not re.search(r'"(pattern|patternProperties|format)"', json.dumps(schema))


def test_the_subset_check_finds_forbidden_keywords_anywhere():
    schema = copy.deepcopy(DECLARED["tool.executed"].schema)
    schema["properties"]["toolName"]["pattern"] = "^(a+)+$"
    schema["patternProperties"] = {"x": {}}
    schema["properties"]["input"] = {"type": "array", "items": {"format": "email"}}
    assert unsupported_keywords(schema) == [
        "/: patternProperties",
        "/properties/toolName: pattern",
        "/properties/input/items: format",
    ]


def test_a_missing_field_is_reported_at_its_path_with_every_other_fault():
    data = DECLARED["tool.executed"].example
    del data["toolName"]
    data["elapsed_ms"] = "slow"
    assert validate("tool.executed", data) == [
        SchemaError("/toolName", "is a required field"),
        SchemaError("/elapsed_ms", "must be number"),
    ]


def test_faults_inside_fields_and_of_the_whole_are_reported():
    data = {**DECLARED["knowledge.updated"].example, "action": "delete"}
    [error] = validate("knowledge.updated", data)
    assert error.path == "/action" and "upload" in error.message
    assert validate("graph.synced", {**DECLARED["graph.synced"].example, "nodesWritten": True}) == [
        SchemaError("/nodesWritten", "must be integer")
    ]
    assert validate("app.installed", ["not", "an", "object"]) == [SchemaError("", "must be object")]


def test_the_services_own_alert_matches_its_schema():
    alert = {
        "alertType": "webhook.disabled",
        "source": "events-api",
        "message": "Webhook 6b0a (example.com) was disabled: 25 failures",
        "severity": "warning",
        "webhookId": "6b0a",
        "host": "example.com",
    }
    assert validate("alert.triggered", alert) == []


def test_the_validate_route_answers_valid_errors_or_400():
    example = DECLARED["tool.executed"].example
    assert check("tool.executed", {"data": example}) == {"valid": True, "errors": []}
    del example["toolName"]
    assert check("tool.executed", {"data": example}) == {
        "valid": False,
        "errors": [{"path": "/toolName", "message": "is a required field"}],
    }
    for body, field in (({}, "data"), ({"data": [1]}, "data"), ({"data": {}, "x": 1}, "x")):
        with pytest.raises(BadRequest) as refused:
            check("tool.executed", body)
        assert refused.value.field == field
    with pytest.raises(NotFound):
        check("tool.nope", {"data": {}})


def test_a_test_send_posts_the_catalogue_example_or_validated_data():
    assert data_for_test_send("graph.synced", None) == {**DECLARED["graph.synced"].example, "test": True}
    given = {**DECLARED["graph.synced"].example, "extra": 1}
    assert data_for_test_send("graph.synced", given) == given
    with pytest.raises(BadRequest) as refused:
        data_for_test_send("graph.synced", {"graphId": "g"})
    assert refused.value.details == [
        {"path": "/nodesWritten", "message": "is a required field"},
        {"path": "/edgesWritten", "message": "is a required field"},
    ]


def test_examples_are_copies():
    find("tool.executed").example["toolName"] = "changed"  # type: ignore[union-attr]
    assert DECLARED["tool.executed"].example["toolName"] == "erp_get_inventory"


def test_openapi_webhooks_are_the_catalogue():
    document = contract.document()
    assert document["webhooks"] == contract.catalogue_webhooks()
    assert list(document["webhooks"]) == REFERENCE_ORDER
    assert document["paths"]["/v1/events/types/{name}"]["get"]["responses"]["200"]["content"]["application/json"][
        "example"
    ] == DECLARED["tool.executed"].describe() | {"schema": DECLARED["tool.executed"].schema}


def test_the_console_reads_the_catalogue_from_the_api():
    # The console holds no list of types or fields of its own: it asks GET /v1/events/types(/{name}).
    script = "".join(path.read_text() for path in (ROOT / "functions/console/static").glob("*.js"))
    assert "/v1/events/types/" in script
    for name in REFERENCE_ORDER:
        assert f'"{name}"' not in script and f"'{name}'" not in script


def test_the_template_wires_enforcement_claims_and_the_routes():
    from eventsapi.local.template import Template
    from eventsapi.local.wiring import REGION, STACK_NAME, TEMPLATE

    template = Template(TEMPLATE, stack_name=STACK_NAME, region=REGION)
    resources = template.raw["Resources"]
    parameter = template.raw["Parameters"]["SchemaEnforcement"]
    assert (parameter["Default"], parameter["AllowedValues"]) == ("warn", ["off", "warn", "reject"])
    claims = resources["IdempotencyTable"]["Properties"]
    assert claims["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert claims["KeySchema"] == [{"AttributeName": "claimKey", "KeyType": "HASH"}]
    policies = resources["FanoutFunctionRole"]["Properties"]["Policies"]  # the role SAM makes for it
    statements = [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]
    claim_grants = [s["Action"] for s in statements if "IdempotencyTable" in str(s["Resource"])]
    assert claim_grants == [["dynamodb:PutItem"]], "the fan-out may only put claims"
    routes = {
        (route.method, route.path)
        for route in template.api_routes("EventsApi")
        if route.function in ("GetEventTypeFunction", "ValidateEventDataFunction")
    }
    assert routes == {("GET", "/v1/events/types/{name}"), ("POST", "/v1/events/types/{name}/validate")}
