"""DELETE /v1/events/webhooks/{id}: delete one of the caller's webhooks (scope write)."""

from events_core.http import Request, api_handler, caller
from events_core.webhooks import service


def delete_webhook(request: Request) -> dict:
    developer = caller(request, "write")
    service.delete(developer.developer_id, request.path("id"))
    return {"success": True}


lambda_handler = api_handler(delete_webhook)
