"""GET /v1/events/types: the ten subscribable event types, in the reference's order (scope read)."""

from events_core.event_types import EVENT_TYPES
from events_core.http import api_handler, build_api, caller

app = build_api()


@app.get("/v1/events/types")
def list_event_types():
    caller(app, "read")
    return {"eventTypes": list(EVENT_TYPES)}


lambda_handler = api_handler(app)
