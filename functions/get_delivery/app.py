"""GET /v1/events/webhooks/{id}/deliveries/{deliveryId}: one delivery with its attempts (oldest
first) and the exact payload that was signed and sent (scope read)."""

from events_core.history import service
from events_core.http import Request, api_handler, caller


def get_delivery(request: Request) -> dict:
    developer = caller(request, "read")
    record = service.get_delivery(developer.developer_id, request.path("id"), request.path("deliveryId"))
    return record.public(detail=True)


lambda_handler = api_handler(get_delivery)
