"""/v1/events/verify?token=… (no API key): the manual ownership link a challenge carried, for
receivers that cannot echo. GET shows what the link would confirm and changes nothing (link
scanners and unfurlers open links); POST confirms it, once. 200 {verified, webhookId, …}; 410 when
used, expired or unknown; 400 without a token."""

import html

from events_core.config import settings
from events_core.http import Answer, Request, api_handler, error_body
from events_core.webhooks.verification import Verifier

MAX_TOKEN = 512
GONE = "this verification link was used already, has expired, or is not one this API handed out"


HTML = "text/html; charset=utf-8"
# The page runs nothing and loads nothing; its one form posts back to this API.
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'none'; form-action 'self'", "Cache-Control": "no-store"}


def _wants_page(request: Request) -> bool:
    """A person's browser (Accept: text/html) gets a small page; clients and scripts get JSON."""
    accept = next((v for k, v in (request.event.get("headers") or {}).items() if str(k).lower() == "accept"), "")
    return "text/html" in str(accept)


def _page(title: str, *lines: str, confirm: bool = False, status: int = 200) -> Answer:
    shown = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    form = '<form method="post"><button type="submit">Confirm</button></form>' if confirm else ""
    body = (
        f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<h1>{html.escape(title)}</h1>{shown}{form}</html>"
    )
    return Answer(body, status, content_type=HTML, headers=PAGE_HEADERS)


def verify_link(request: Request) -> Answer:
    answer = _verify_link(request)
    if not _wants_page(request) or answer.status not in (200, 410):
        return answer
    found = answer.body if isinstance(answer.body, dict) else {}
    if answer.status == 410:
        return _page("Link no longer valid", GONE[0].upper() + GONE[1:] + ".", status=410)
    if found.get("verified"):
        return _page("Receiver verified", f"Webhook {found['webhookId']} now receives its events.")
    return _page(
        "Confirm this receiver",
        f"Webhook {found['webhookId']} would send {found['event']} events to {found['url']}.",
        "Confirm only if this receiver wants these posts.",
        confirm=True,
    )


def _verify_link(request: Request) -> Answer:
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
