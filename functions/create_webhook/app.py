"""POST /v1/events/webhooks: register a webhook (scope write). 201 with the webhook, never its secret."""

from aws_lambda_powertools.metrics import MetricUnit

from events_core.http import api_handler, build_api, caller, json_body
from events_core.observability import metrics
from events_core.webhooks import service

app = build_api()


@app.post("/v1/events/webhooks")
def create_webhook():
    developer = caller(app, "write")
    webhook = service.register(developer.developer_id, json_body(app))
    metrics.add_metric(name="WebhookRegistered", unit=MetricUnit.Count, value=1)
    return webhook.public(), 201


lambda_handler = api_handler(app)
