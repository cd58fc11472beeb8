"""Ownership state: whether a webhook's URL has proven it wants the posts, read from the webhook
alone. The outbound gate asks this module (never the one that sends challenges), so the gate, the
challenge it carries and the verification flow (events_core.webhooks.verification) form no circle.

Stack parameter EndpointVerification: off (default), optional (state is information) or required
(an unproven URL receives nothing but its challenge)."""

from events_core.config import Settings
from events_core.errors import Unverified
from events_core.webhooks.model import Webhook
from events_core.webhooks.urls import origin

OFF, OPTIONAL, REQUIRED = "off", "optional", "required"
PENDING, VERIFIED, FAILED = "pending", "verified", "failed"


def mode(config: Settings) -> str:
    return config.endpoint_verification.strip().lower() or OFF


def unverified(webhook: Webhook, config: Settings) -> bool:
    """Under `required`, a webhook whose URL has not proven itself receives nothing."""
    return mode(config) == REQUIRED and webhook.verification_status in (PENDING, FAILED)


def require_verified(webhook: Webhook, config: Settings) -> None:
    if unverified(webhook, config):
        raise Unverified(
            "the webhook's URL is not verified; POST /v1/events/webhooks/{id}/verify first "
            "(or open the verifyUrl its challenge carried)"
        )


def proven_origin(webhook: Webhook) -> str | None:
    """The origin a challenge or link last proved (for a webhook verified before this was stored,
    its URL's: every URL change made it pending since)."""
    if webhook.verified_origin:
        return webhook.verified_origin
    return origin(webhook.url) if webhook.verification_status == VERIFIED else None


def refusal(webhook: Webhook, purpose: str, config: Settings) -> str | None:
    """The outbound gate's first step: why a post may not go to this webhook now (None: it may)."""
    if purpose != "verification" and unverified(webhook, config):
        return "unverified: the receiver has not answered its ownership challenge"
    return None
