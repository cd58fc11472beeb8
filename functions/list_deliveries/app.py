"""GET /v1/events/webhooks/{id}/deliveries: the webhook's deliveries, newest first (scope read).
?limit=1-100 (50) &status=pending|succeeded|retrying|dead &since=ISO time &cursor=nextCursor."""

from events_core.history import service
from events_core.http import Request, api_handler, caller


def list_deliveries(request: Request) -> dict:
    developer = caller(request, "read")
    return service.list_deliveries(developer.developer_id, request.path("id"), service.parse_query(request.query))


lambda_handler = api_handler(list_deliveries)
