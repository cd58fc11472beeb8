"""DELETE /v1/events/webhooks/{id}: delete one of the caller's webhooks (scope write)."""

from events_core.http import api_handler, build_api, caller
from events_core.webhooks import service

app = build_api()


@app.delete("/v1/events/webhooks/<webhook_id>")
def delete_webhook(webhook_id: str):
    developer = caller(app, "write")
    service.delete(developer.developer_id, webhook_id)
    return {"success": True}


lambda_handler = api_handler(app)
