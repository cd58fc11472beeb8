"""POST /v1/events/webhooks: register a webhook (scope write). 201 with the webhook, never its secret."""

from aws_lambda_powertools.metrics import MetricUnit

from events_core.http import Answer, Request, api_handler, caller
from events_core.observability import metrics
from events_core.webhooks import service


def create_webhook(request: Request) -> Answer:
    developer = caller(request, "write")
    webhook = service.register(developer.developer_id, request.json())
    metrics.add_metric(name="WebhookRegistered", unit=MetricUnit.Count, value=1)
    return Answer(webhook.public(), 201)


lambda_handler = api_handler(create_webhook)
