"""GET /v1/events/webhooks/{id}/deliveries: the webhook's deliveries, newest first (scope read).
?limit=1-100 (50) &status=pending|succeeded|retrying|dead &since=ISO time &cursor=nextCursor."""

from events_core.history import service
from events_core.http import api_handler, build_api, caller, query

app = build_api()


@app.get("/v1/events/webhooks/<webhook_id>/deliveries")
def list_deliveries(webhook_id: str):
    developer = caller(app, "read")
    return service.list_deliveries(developer.developer_id, webhook_id, service.parse_query(query(app)))


lambda_handler = api_handler(app)
