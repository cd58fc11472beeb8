"""GET /v1/events/types/{name}: one event type's declaration — {name, description, version,
schema, example} — from the catalogue (scope read)."""

from events_core.http import Request, api_handler, caller
from events_core.schemas import declared


def get_event_type(request: Request) -> dict:
    caller(request, "read")
    return declared(request.path("name")).describe()


lambda_handler = api_handler(get_event_type)
