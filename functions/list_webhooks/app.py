"""GET /v1/events/webhooks: the caller's webhooks and the subscribable event types (scope read)."""

from events_core.event_types import EVENT_TYPES
from events_core.http import Request, api_handler, caller
from events_core.webhooks import service


def list_webhooks(request: Request) -> dict:
    developer = caller(request, "read")
    webhooks = service.list_webhooks(developer.developer_id)
    return {"webhooks": [webhook.public() for webhook in webhooks], "eventTypes": list(EVENT_TYPES)}


lambda_handler = api_handler(list_webhooks)
