"""Every operation in openapi.yaml says who it is for (`x-audience`), so the coverage tests of the
client, the developer CLI and the MCP server know which operations they must cover."""

import copy

from eventsapi.harness import contract

METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}
AUDIENCES = {"developer", "receiver", "operator"}


def operations(document: dict) -> list[tuple[str, dict]]:
    """(where, operation) for every route and every `webhooks:` entry."""
    found = []
    for section in ("paths", "webhooks"):
        for path, item in document.get(section, {}).items():
            for method, operation in item.items():
                if method in METHODS:
                    found.append((f"{section} {method.upper()} {path}", operation))
    return found


def audience_faults(document: dict) -> list[str]:
    return [
        f"{where}: x-audience is {operation.get('x-audience')!r}, not one of {sorted(AUDIENCES)}"
        for where, operation in operations(document)
        if operation.get("x-audience") not in AUDIENCES
    ]


def test_every_operation_says_who_it_is_for():
    document = contract.document()
    assert len(operations(document)) > 30
    assert audience_faults(document) == []


def test_an_operation_without_an_audience_is_found():
    document = copy.deepcopy(contract.document())
    del document["paths"]["/v1/events/types"]["get"]["x-audience"]
    document["webhooks"]["tool.executed"]["post"]["x-audience"] = "everyone"
    faults = audience_faults(document)
    assert len(faults) == 2
    assert "paths GET /v1/events/types" in faults[0] or "paths GET /v1/events/types" in faults[1]


def test_what_a_receiver_is_sent_and_the_ownership_link_are_the_receivers():
    document = contract.document()
    for name, item in document["webhooks"].items():
        assert item["post"]["x-audience"] == "receiver", name
    assert document["paths"]["/v1/events/verify"]["get"]["x-audience"] == "receiver"
    assert document["paths"]["/v1/events/webhooks"]["post"]["x-audience"] == "developer"
