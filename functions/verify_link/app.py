"""GET /v1/events/verify?token=… (no API key): the manual ownership link a challenge carried, for
receivers that cannot echo. 200 {verified: true, webhookId} once; 410 when used, expired or unknown;
400 without a token."""

from events_core.config import settings
from events_core.http import Answer, Request, api_handler, error_body
from events_core.webhooks.verification import Verifier

MAX_TOKEN = 512


def verify_link(request: Request) -> Answer:
    if request.query.get("token") is None:  # no token at all: the request is malformed (an empty one: 410)
        return Answer(error_body("invalid_request", "token: the verification link's token is missing"), 400)
    token = request.query.get("token") or ""
    webhook = Verifier(settings()).redeem(token) if 0 < len(token) <= MAX_TOKEN else None
    if webhook is None:
        message = "this verification link was used already, has expired, or is not one this API handed out"
        return Answer(error_body("gone", message), 410)
    return Answer({"verified": True, "webhookId": webhook.webhook_id})


lambda_handler = api_handler(verify_link)
