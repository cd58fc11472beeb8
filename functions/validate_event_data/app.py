"""POST /v1/events/types/{name}/validate: check `data` against the type's schema with the
fan-out's own validator; {valid, errors: [{path, message}]}. It changes nothing, so it needs only
the read scope (the one POST that does)."""

from events_core.http import Request, api_handler, caller
from events_core.schemas import check


def validate_event_data(request: Request) -> dict:
    caller(request, "read")
    return check(request.path("name"), request.json())


lambda_handler = api_handler(validate_event_data)
