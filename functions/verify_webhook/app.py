"""POST /v1/events/webhooks/{id}/verify (scope write): send the ownership challenge now. 200
{verified, latencyMs, error?}; 429 with Retry-After past one a webhook every 10 s or 30 a
developer an hour."""

from events_core.config import settings
from events_core.http import Answer, Request, api_handler, caller, error_body
from events_core.webhooks import service
from events_core.webhooks.verification import TooSoon, Verifier

RESERVE_SECONDS = 2.0


def link_base(request: Request) -> str:
    """Where this API is reached, from configuration (VerifyLinkBase: the stage's URL by default,
    the run's API URL locally). Without it, the stage as API Gateway itself names it: never the
    request's Host or X-Forwarded-* headers, which a caller chooses."""
    configured = settings().verify_link_base
    if configured:
        return configured.rstrip("/")
    context = request.event.get("requestContext") or {}
    domain, stage = context.get("domainName") or "", context.get("stage") or ""
    return f"https://{domain}/{stage}".rstrip("/") if domain else ""


def verify_webhook(request: Request) -> Answer:
    developer = caller(request, "write")
    webhook = service.get(developer.developer_id, request.path("id"))
    try:
        outcome = Verifier(settings()).challenge(
            webhook, link_base(request), seconds_left=request.seconds_left() - RESERVE_SECONDS
        )
    except TooSoon as limited:
        body = error_body(limited.code, limited.message)
        return Answer(body, 429, headers={"Retry-After": str(limited.retry_after)})
    return Answer(outcome.public())


lambda_handler = api_handler(verify_webhook)
