"""GET /v1/events/listen/{sessionId}/deliveries (scope read): the session's kept deliveries (its
last 100, for a day), newest first."""

from events_core.http import Request, api_handler, caller
from events_core.listen import service


def listen_history(request: Request) -> dict:
    developer = caller(request, "read")
    return service.history(developer.developer_id, request.path("sessionId"))


lambda_handler = api_handler(listen_history)
