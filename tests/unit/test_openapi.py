"""openapi.yaml documents exactly the routes template.yaml serves, with the reference's examples, and
says what the code does: its URL rule is the validator's, its event types are the code's."""

import copy
import re

import pytest

from events_core import event_patterns
from events_core.config import Settings
from events_core.errors import BadRequest
from events_core.event_types import EVENT_TYPES
from events_core.webhooks.urls import check_webhook_url
from eventsapi.harness import contract
from eventsapi.harness.contract import NOT_THE_API, OPENAPI
from eventsapi.local.template import Template
from eventsapi.local.wiring import REGION, STACK_NAME, TEMPLATE

METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}  # any the document could declare


def template_routes() -> set[tuple[str, str]]:
    template = Template(TEMPLATE, stack_name=STACK_NAME, region=REGION)
    return {
        (route.method, route.path)
        for api in template.rest_api_logical_ids()
        for route in template.api_routes(api)
        if not route.path.startswith(NOT_THE_API)
    }


def document_routes(document: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item if method in METHODS}


def test_every_template_route_is_documented_and_nothing_else():
    assert document_routes(contract.document()) == template_routes()


def test_the_comparison_notices_a_missing_route():
    document = copy.deepcopy(contract.document())  # the cached one serves every other test's oracle
    del document["paths"]["/v1/events/types"]
    assert document_routes(document) != template_routes()


def test_it_is_openapi_3_1_and_every_operation_documents_its_errors():
    document = contract.document()
    assert document["openapi"].startswith("3.1")
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                assert {"401", "403", "404", "429"} <= set(operation["responses"]), f"{method} {path}"
                if method in ("post", "patch") and "requestBody" in operation:
                    assert {"400", "413"} <= set(operation["responses"]), f"{method} {path}"


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


def test_the_event_types_are_the_codes_everywhere():
    document = contract.document()
    assert document["components"]["schemas"]["EventType"]["enum"] == list(EVENT_TYPES)
    patterns = ["*", *(f"{namespace}.*" for namespace in event_patterns.namespaces())]
    assert document["components"]["schemas"]["EventPattern"]["enum"] == patterns


def test_the_rule_takes_every_type_of_the_platforms_source_so_unknown_types_are_dead_lettered_not_dropped():
    # newcomer review 4: a detail-type list in the rule dropped unknown types silently
    template = Template(TEMPLATE, stack_name=STACK_NAME, region=REGION)
    pattern = template.raw["Resources"]["PlatformEventsRule"]["Properties"]["EventPattern"]
    assert set(pattern) == {"source"}


URL_PATTERN = re.compile(contract.document()["components"]["schemas"]["Url"]["pattern"])
PRODUCTION = Settings()
ACCEPTED = [
    "https://my-server.com/webhooks/workflow",
    "https://hooks.example.com",
    "https://a.b.c.d.e.example.com:8443/x?y=1&z=%20#frag",
    "https://example.com:443/",
    "https://example.com:80/",
    "https://example.com:1024/",
    "https://example.com:65535/",
    "https://xn--fsqu00a.xn--fiqs8s/path",
    "https://EXAMPLE.COM/Upper",
    "https://example.co-op/",
]
REFUSED = [
    "http://example.com/",  # production: https only
    "https://example/",  # one label
    "https://example.123/",  # numeric top label
    "https://93.184.216.34/",  # a literal address
    "https://[2606:4700::1111]/",
    "https://example.com:22/",
    "https://example.com:1023/",
    "https://example.com:65536/",
    "https://example.com:0/",
    "https://user:pass@example.com/",
    "https://example.com/a b",
    "https://example.com/caf\u00e9",
    "https://-bad.example.com/",
    "https://bad-.example.com/",
    "ftp://example.com/",
    "https://",
    "https:///path",
]
# Syntactically fine, refused for what they name: the document says so in prose.
RESERVED_NAMES = ["https://metadata.google.internal/", "https://printer.local/", "https://a.localhost/"]


@pytest.mark.parametrize("url", ACCEPTED)
def test_urls_the_document_accepts_the_validator_accepts(url):
    assert URL_PATTERN.match(url)
    check_webhook_url(url, PRODUCTION)


@pytest.mark.parametrize("url", REFUSED)
def test_urls_the_document_refuses_the_validator_refuses(url):
    assert not URL_PATTERN.match(url)
    with pytest.raises(BadRequest):
        check_webhook_url(url, PRODUCTION)


@pytest.mark.parametrize("url", RESERVED_NAMES)
def test_reserved_names_are_refused_as_the_document_describes(url):
    assert URL_PATTERN.match(url)
    with pytest.raises(BadRequest, match="local or internal"):
        check_webhook_url(url, PRODUCTION)
    assert "internal" in contract.document()["components"]["schemas"]["Url"]["description"]


def _resolved(response: dict) -> dict:
    if "$ref" in response:
        return contract.document()["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    return response


def test_every_429_documents_a_required_retry_after():
    """Rate limit, budget_exceeded and the verify limit all answer 429: each tells when to come back."""
    for path, item in contract.document()["paths"].items():
        for method, operation in item.items():
            if method in METHODS and "429" in operation["responses"]:
                headers = _resolved(operation["responses"]["429"]).get("headers", {})
                assert headers.get("Retry-After", {}).get("required") is True, f"{method} {path}"


def test_the_oracle_refuses_a_429_without_retry_after():
    body = b'{"error": {"code": "budget_exceeded", "message": "spent"}}'
    path = "/v1/events/webhooks/665f1a2b3c4d5e6f7a8b9c0d/test"
    contract.check("POST", path, 429, body, {"retry-after": "3", "Content-Type": "application/json"})
    contract.check("POST", path, 429, body)  # no headers given: only status and body are checked
    with pytest.raises(contract.ContractBroken, match="Retry-After"):
        contract.check("POST", path, 429, body, {"Content-Type": "application/json"})
