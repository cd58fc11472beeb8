"""/v1/events/verify?token=… (no API key): the manual ownership link a challenge carried, for
receivers that cannot echo. GET shows what the link would confirm and changes nothing (link
scanners and unfurlers open links); POST confirms it, once. 200 {verified, webhookId, …}; 410 when
used, expired or unknown; 400 without a token."""

from events_core.config import settings
from events_core.http import Answer, Request, api_handler, error_body
from events_core.webhooks.verification import Verifier

MAX_TOKEN = 512
GONE = "this verification link was used already, has expired, or is not one this API handed out"


def verify_link(request: Request) -> Answer:
    if request.query.get("token") is None:  # no token at all: the request is malformed (an empty one: 410)
        return Answer(error_body("invalid_request", "token: the verification link's token is missing"), 400)
    token = request.query.get("token") or ""
    verifier = Verifier(settings())
    confirming = request.event.get("httpMethod") == "POST"
    if not 0 < len(token) <= MAX_TOKEN:
        webhook = None
    else:
        webhook = verifier.redeem(token) if confirming else verifier.pending_link(token)
    if webhook is None:
        return Answer(error_body("gone", GONE), 410)
    if confirming:
        return Answer({"verified": True, "webhookId": webhook.webhook_id})
    return Answer(
        {
            "verified": False,
            "webhookId": webhook.webhook_id,
            "event": webhook.event,
            "url": webhook.url,
            "confirm": "POST this same URL to confirm that this receiver wants these posts",
        }
    )


lambda_handler = api_handler(verify_link)
