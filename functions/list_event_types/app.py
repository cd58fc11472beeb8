"""GET /v1/events/types: the ten subscribable event types, in the reference's order (scope read)."""

from events_core.event_types import EVENT_TYPES
from events_core.http import Request, api_handler, caller


def list_event_types(request: Request) -> dict:
    caller(request, "read")
    return {"eventTypes": list(EVENT_TYPES)}


lambda_handler = api_handler(list_event_types)
