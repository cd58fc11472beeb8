"""GET /v1/events/webhooks/{id}: one of the caller's webhooks (scope read)."""

from events_core.http import api_handler, build_api, caller
from events_core.webhooks import service

app = build_api()


@app.get("/v1/events/webhooks/<webhook_id>")
def get_webhook(webhook_id: str):
    developer = caller(app, "read")
    return service.get(developer.developer_id, webhook_id).public()


lambda_handler = api_handler(app)
