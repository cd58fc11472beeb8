"""POST /v1/events/webhooks/{id}/recover: queue again every dead delivery of the webhook between
`since` and `until` (default now), each once (scope write). 202 {queued, nextCursor}."""

from events_core.history import service
from events_core.http import api_handler, build_api, caller, json_body

app = build_api()


@app.post("/v1/events/webhooks/<webhook_id>/recover")
def recover(webhook_id: str):
    developer = caller(app, "write")
    return service.recover(developer.developer_id, webhook_id, json_body(app)), 202


lambda_handler = api_handler(app)
