"""POST /v1/events/webhooks/{id}/deliveries/{deliveryId}/redeliver: post the stored payload once
more, whatever the delivery's status (scope write). 202: queued."""

from events_core.history import service
from events_core.http import api_handler, build_api, caller

app = build_api()


@app.post("/v1/events/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver")
def redeliver(webhook_id: str, delivery_id: str):
    developer = caller(app, "write")
    return service.redeliver(developer.developer_id, webhook_id, delivery_id), 202


lambda_handler = api_handler(app)
