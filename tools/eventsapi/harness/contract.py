"""openapi.yaml as a test oracle: every answer a test receives through the API is checked against it
(documented status, body matching its schema), so the document and the code cannot drift apart."""

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

OPENAPI = Path(__file__).resolve().parents[3] / "openapi.yaml"
ROOT = "urn:events-api:openapi"
METHODS = {"get", "post", "put", "patch", "delete"}
# Served by the stack, but not part of the JSON API the document describes.
NOT_THE_API = ("/console",)


class ContractBroken(AssertionError):
    pass


@cache
def document() -> dict:
    return yaml.safe_load(OPENAPI.read_text())


@cache
def _registry() -> Registry:
    return Registry().with_resource(ROOT, Resource.from_contents(document(), default_specification=DRAFT202012))


@cache
def _routes() -> list[tuple[re.Pattern, str]]:
    routes = []
    for template in document()["paths"]:
        regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        routes.append((re.compile(f"^{regex}$"), template))
    return routes


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def _validate(instance: Any, pointer: str, what: str) -> None:
    validator = Draft202012Validator({"$ref": f"{ROOT}#/{pointer}"}, registry=_registry())
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    if errors:
        raise ContractBroken(f"{what}: {errors[0].message} at {list(errors[0].path)}")


def check(method: str, path: str, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    """Raise ContractBroken unless openapi.yaml documents this answer (and, when `headers` are
    given, the answer carries every header its response marks required, e.g. a 429's Retry-After)."""
    path = path.partition("?")[0]
    if path.startswith(NOT_THE_API):
        return
    what = f"{method} {path} → {status}"
    template = next((template for pattern, template in _routes() if pattern.match(path)), None)
    operation = document()["paths"].get(template or "", {}).get(method.lower())
    if operation is None:
        if status in (401, 403, 404, 429):  # API Gateway's own answer for an unknown route or method
            _validate(json.loads(body), "components/schemas/Error", what)
            return
        raise ContractBroken(f"{what}: no such operation in openapi.yaml")
    response = operation["responses"].get(str(status))
    if response is None:
        raise ContractBroken(f"{what}: status {status} is not documented")
    pointer = _pointer("paths", template or "", method.lower(), "responses", str(status))
    if "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[-1]
        pointer, response = _pointer("components", "responses", name), document()["components"]["responses"][name]
    content_type = next((v for k, v in (headers or {}).items() if k.lower() == "content-type"), "")
    if content_type.startswith("text/html"):  # a page for a person's browser, where one is documented
        if "text/html" not in response.get("content", {}):
            raise ContractBroken(f"{what}: answered text/html, which openapi.yaml does not document here")
        schema = None
    else:
        schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is not None:
        _validate(json.loads(body), pointer + "/content/application~1json/schema", what)
    if headers is not None:
        present = {name.lower() for name in headers}
        for name, header in response.get("headers", {}).items():
            if header.get("required") and name.lower() not in present:
                raise ContractBroken(f"{what}: the documented header {name} is missing")


def catalogue_webhooks() -> dict[str, Any]:
    """openapi.yaml's `webhooks:` as the event catalogue declares it: one POST per type, its body
    the reference's {event, timestamp, data} with `data` the type's schema and example."""
    from events_core.catalogue import declarations

    return {
        declared.name: {
            "post": {
                "x-audience": "receiver",  # what a receiver is sent
                "summary": declared.description,
                "description": f"Schema version {declared.version}; headers as on every delivery.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["event", "timestamp", "data"],
                                "properties": {
                                    "event": {"const": declared.name},
                                    "timestamp": {"$ref": "#/components/schemas/Timestamp"},
                                    "data": declared.schema,
                                },
                            },
                            "example": {
                                "event": declared.name,
                                "timestamp": "2026-04-12T08:00:00.000Z",
                                "data": declared.example,
                            },
                        }
                    },
                },
                "responses": {"2XX": {"description": "Received; any other answer is retried"}},
            }
        }
        for declared in declarations()
    }
