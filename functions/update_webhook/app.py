"""PATCH /v1/events/webhooks/{id}: change url, event, filter, description, or pause and re-enable
(enabled) one of the caller's webhooks (scope write). 200 with the webhook."""

from events_core.http import Request, api_handler, caller
from events_core.webhooks import service


def update_webhook(request: Request) -> dict:
    developer = caller(request, "write")
    return service.change(developer.developer_id, request.path("id"), request.json()).public()


lambda_handler = api_handler(update_webhook)
