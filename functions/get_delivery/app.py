"""GET /v1/events/webhooks/{id}/deliveries/{deliveryId}: one delivery with its attempts (oldest
first) and the exact payload that was signed and sent (scope read)."""

from events_core.history import service
from events_core.http import api_handler, build_api, caller

app = build_api()


@app.get("/v1/events/webhooks/<webhook_id>/deliveries/<delivery_id>")
def get_delivery(webhook_id: str, delivery_id: str):
    developer = caller(app, "read")
    return service.get_delivery(developer.developer_id, webhook_id, delivery_id).public(detail=True)


lambda_handler = api_handler(app)
