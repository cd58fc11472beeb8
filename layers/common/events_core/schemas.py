"""The catalogue as the API serves it: one type's declaration, validating data against its schema
(the fan-out's validator and messages), and the data of a test send."""

from typing import Any

from events_core.catalogue import EventType, find
from events_core.catalogue.validation import summary, validate
from events_core.errors import BadRequest, NotFound
from events_core.webhooks.requests import known_fields

VALIDATE_FIELDS = ("data",)


def declared(name: str) -> EventType:
    found = find(name)
    if found is None:
        raise NotFound(f"no event type {name[:64]!r}")
    return found


def check(name: str, body: Any) -> dict[str, Any]:
    """POST /v1/events/types/{name}/validate: {valid, errors: [{path, message}]}."""
    event_type = declared(name)
    if not isinstance(body, dict):
        raise BadRequest("body: must be a JSON object")
    known_fields(body, VALIDATE_FIELDS)
    if "data" not in body:
        raise BadRequest("data: is required (the event's data, a JSON object)", field="data")
    if not isinstance(body["data"], dict):
        raise BadRequest("data: must be a JSON object", field="data")
    errors = validate(event_type.name, body["data"])
    return {"valid": not errors, "errors": [error.to_dict() for error in errors]}


def data_for_test_send(event: str, data: dict | None) -> dict[str, Any]:
    """What a test send posts: the type's catalogue example, or `data` once it matches the schema."""
    if data is None:
        return {**declared(event).example, "test": True}
    errors = validate(event, data)
    if errors:
        raise BadRequest(
            f"data: does not match the {event} schema: {summary(errors)}",
            field="data",
            details=[error.to_dict() for error in errors],
        )
    return data
