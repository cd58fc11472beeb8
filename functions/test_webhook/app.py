"""POST /v1/events/webhooks/{id}/test: one signed POST to the webhook now, answered with how it
went (scope write). Works on a paused webhook; changes none of its counters."""

from events_core.config import settings
from events_core.delivery.probe import send_test
from events_core.http import api_handler, build_api, caller, json_body, seconds_left
from events_core.webhooks import service

app = build_api()
# Kept back from the invocation's time for recording the attempt and answering.
RESERVE_SECONDS = 2.0


@app.post("/v1/events/webhooks/<webhook_id>/test")
def test_webhook(webhook_id: str):
    developer = caller(app, "write")
    webhook = service.get(developer.developer_id, webhook_id)
    body = json_body(app, optional=True)
    return send_test(webhook, body, settings(), seconds_left=seconds_left(app) - RESERVE_SECONDS)


lambda_handler = api_handler(app)
