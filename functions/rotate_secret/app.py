"""POST /v1/events/webhooks/{id}/secret/rotate: a new signing secret (scope write). The old one
keeps signing beside it for `overlapSeconds`. The answer holds the secret only when the service
generated it — the one answer that ever contains a secret."""

from events_core.clock import iso_ms
from events_core.http import Request, api_handler, caller
from events_core.webhooks import service


def rotate_secret(request: Request) -> dict:
    developer = caller(request, "write")
    webhook, generated = service.rotate_secret(developer.developer_id, request.path("id"), request.json(optional=True))
    answer = webhook.public()
    if generated is not None:
        answer["secret"] = generated
    if webhook.previous_secret_until_ms is not None:
        answer["previousSecretValidUntil"] = iso_ms(webhook.previous_secret_until_ms)
    return answer


lambda_handler = api_handler(rotate_secret)
