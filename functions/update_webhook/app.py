"""PATCH /v1/events/webhooks/{id}: change url, event, filter, description, or pause and re-enable
(enabled) one of the caller's webhooks (scope write). 200 with the webhook."""

from events_core.http import api_handler, build_api, caller, json_body
from events_core.webhooks import service

app = build_api()


@app.patch("/v1/events/webhooks/<webhook_id>")
def update_webhook(webhook_id: str):
    developer = caller(app, "write")
    return service.change(developer.developer_id, webhook_id, json_body(app)).public()


lambda_handler = api_handler(app)
