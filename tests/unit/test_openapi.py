"""openapi.yaml documents exactly the routes template.yaml serves, with the reference's examples."""

import yaml

from eventsapi.local.template import Template
from eventsapi.local.wiring import REGION, STACK_NAME, TEMPLATE

OPENAPI = TEMPLATE.parent / "openapi.yaml"
METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}


def _document() -> dict:
    return yaml.safe_load(OPENAPI.read_text())


def template_routes() -> set[tuple[str, str]]:
    template = Template(TEMPLATE, stack_name=STACK_NAME, region=REGION)
    return {
        (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
        for logical_id in template.function_logical_ids()
        for event in template.function(logical_id).events.values()
        if event.get("Type") == "Api"
    }


def document_routes(document: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item if method in METHODS}


def test_every_template_route_is_documented_and_nothing_else():
    assert document_routes(_document()) == template_routes()


def test_the_comparison_notices_a_missing_route():
    document = _document()
    del document["paths"]["/v1/events/types"]
    assert document_routes(document) != template_routes()


def test_it_is_openapi_3_1_and_every_operation_documents_its_errors():
    document = _document()
    assert document["openapi"].startswith("3.1")
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                assert {"401", "403"} <= set(operation["responses"]), f"{method} {path}"


def test_the_reference_examples_are_in_the_document():
    text = OPENAPI.read_text()
    for example in (
        "665f1a2b3c4d5e6f7a8b9c0d",
        "https://my-server.com/webhooks/workflow",
        "my-webhook-secret",
        "/v1/tools/erp_get_inventory/test",
        "responseTime: 1500",
    ):
        assert example in text
