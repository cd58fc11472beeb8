"""POST /v1/events/webhooks/{id}/test: one signed POST to the webhook now, answered with how it
went (scope write). Works on a paused webhook; changes none of its counters."""

from events_core.config import settings
from events_core.delivery.probe import send_test
from events_core.http import Request, api_handler, caller
from events_core.webhooks import ownership, service

# Kept back from the invocation's time for recording the attempt and answering.
RESERVE_SECONDS = 2.0


def test_webhook(request: Request) -> dict:
    developer = caller(request, "write")
    webhook = service.get(developer.developer_id, request.path("id"))
    ownership.require_verified(webhook, settings())  # 409 unverified under EndpointVerification=required
    body = request.json(optional=True)
    return send_test(webhook, body, settings(), seconds_left=request.seconds_left() - RESERVE_SECONDS)


lambda_handler = api_handler(test_webhook)
