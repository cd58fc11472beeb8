"""GET /v1/events/webhooks/{id}: one of the caller's webhooks (scope read)."""

from events_core.http import Request, api_handler, caller
from events_core.webhooks import service


def get_webhook(request: Request) -> dict:
    developer = caller(request, "read")
    return service.get(developer.developer_id, request.path("id")).public()


lambda_handler = api_handler(get_webhook)
