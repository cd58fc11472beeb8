"""Webhook use cases behind the API, each scoped to the calling developer: register, read, list,
change (including pause and re-enable), rotate the secret, delete.

Another developer's webhook id answers exactly like an unknown one: existence is never revealed.
"""

import dataclasses
import secrets as random_secrets
from typing import Any

from events_core.clock import is_id, iso_ms, new_id, now_ms, parse_iso
from events_core.config import Settings, settings
from events_core.errors import NotFound, Unavailable
from events_core.secrets import secret_box
from events_core.webhooks import verification
from events_core.webhooks.controls import check_no_authorization_header
from events_core.webhooks.filters import to_stored
from events_core.webhooks.model import CircuitState, DisabledReason, Webhook
from events_core.webhooks.repository import WebhookRepository
from events_core.webhooks.requests import parse_changes, parse_registration, parse_rotation
from events_core.webhooks.urls import origin

_SAVE_TRIES = 3


def _ensure_signing_key(developer_id: str, config: Settings) -> None:
    """The developer's v1a key, made with the first webhook that asks for asymmetric signatures
    (opt-in: the key store is loaded only then)."""
    from events_core import signing_keys

    signing_keys.ensure_key(secret_box(config), signing_keys.SigningKeyStore(), developer_id)


def _not_found(webhook_id: str) -> NotFound:
    return NotFound(f"webhook {webhook_id[:64]!r} not found")


def register(developer_id: str, body: Any, repository: WebhookRepository | None = None) -> Webhook:
    config = settings()
    registration = parse_registration(body, config)
    created = now_ms()
    webhook = Webhook(
        developer_id=developer_id,
        webhook_id=new_id(created),
        event=registration.event,
        url=registration.url,
        created_at=iso_ms(created),
        updated_at=iso_ms(created),
        filter_json=to_stored(registration.filter),
        description=registration.description,
    )
    if registration.secret:
        webhook.sealed_secret = secret_box(config).seal(registration.secret, developer_id, webhook.webhook_id)
    webhook.rate_limit = registration.rate_limit
    webhook.asymmetric_signature = registration.asymmetric_signature
    webhook.ordering = registration.ordering
    if webhook.asymmetric_signature:
        _ensure_signing_key(developer_id, config)
    if registration.auth:
        secret = registration.auth.pop("clientSecret")
        webhook.auth = registration.auth
        webhook.sealed_client_secret = secret_box(config).seal(
            secret, developer_id, webhook.webhook_id, purpose="oauth2"
        )
    if registration.headers:
        webhook.sealed_headers = secret_box(config).seal_headers(registration.headers, developer_id, webhook.webhook_id)
        webhook.header_names = sorted(registration.headers)
    verification.on_register(webhook, config)  # pending (and disabled under `required`) until it verifies
    (repository or WebhookRepository()).add(webhook, cap=config.max_webhooks_per_developer)
    return webhook


def get(developer_id: str, webhook_id: str, repository: WebhookRepository | None = None) -> Webhook:
    webhook = (repository or WebhookRepository()).get(developer_id, webhook_id) if is_id(webhook_id) else None
    if webhook is None:
        raise _not_found(webhook_id)
    return webhook


def list_webhooks(developer_id: str, repository: WebhookRepository | None = None) -> list[Webhook]:
    return (repository or WebhookRepository()).list_for(developer_id)


def delete(developer_id: str, webhook_id: str, repository: WebhookRepository | None = None) -> None:
    if not is_id(webhook_id) or not (repository or WebhookRepository()).delete(developer_id, webhook_id):
        raise _not_found(webhook_id)


def _apply(webhook: Webhook, changes: dict[str, Any], at_ms: int) -> tuple[Webhook, set[str]]:
    """The webhook with `changes` applied, and the stored attributes that changed."""
    updated = dataclasses.replace(webhook)
    names = {"updatedAt"}
    if "url" in changes:
        updated.url = changes["url"]
        names.add("url")
    if "event" in changes:
        updated.event = changes["event"]
        names |= {"event", "activeKey"}  # moves in the fan-out index in the same write
    if "filter" in changes:
        updated.filter_json = to_stored(changes["filter"])
        names.add("filterJson")
    if "description" in changes:
        updated.description = changes["description"]
        names.add("description")
    if "rateLimit" in changes:
        # A new limit starts from now; posts already given a slot keep it.
        updated.rate_limit, updated.rate_tat_ms = changes["rateLimit"], None
        names |= {"rateLimit", "rateTat"}
    if "sealedHeaders" in changes:
        updated.sealed_headers, updated.header_names = changes["sealedHeaders"], changes["headerNames"]
        names |= {"headersEnc", "headerNames"}
    if "auth" in changes:
        updated.auth, updated.sealed_client_secret = changes["auth"], changes["sealedClientSecret"]
        names |= {"auth", "authSecretEnc"}
    if changes.get("asymmetricSignature") is not None:
        updated.asymmetric_signature = changes["asymmetricSignature"]
        names.add("asymmetricSignature")
    if "ordering" in changes:
        updated.ordering = changes["ordering"]
        names.add("ordering")
    _bind_credentials(webhook, updated, changes, names)
    check_no_authorization_header(updated.header_names, updated.auth is not None)
    if changes.get("enabled") is True:
        updated.enabled, updated.fail_count = True, 0
        updated.disabled_reason, updated.disabled_at_ms, updated.alert_pending = None, None, False
        names |= {"enabled", "failCount", "disabledReason", "disabledAt", "alertPending", "activeKey"}
        if not webhook.enabled:  # switched on again: a fresh circuit
            updated.circuit_state, updated.circuit_since_ms, updated.next_probe_at_ms = CircuitState.CLOSED, None, None
            names |= {"circuitState", "circuitSince", "nextProbeAt"}
    elif changes.get("enabled") is False:
        if updated.enabled:
            updated.disabled_at_ms = at_ms
        updated.enabled, updated.disabled_reason = False, DisabledReason.MANUAL
        names |= {"enabled", "disabledReason", "disabledAt", "activeKey"}
    verification.on_change(webhook, updated, names, settings(), at_ms)  # a new URL proves itself again
    # updatedAt guards concurrent changes, so it must move even within one millisecond.
    updated.updated_at = iso_ms(max(at_ms, _ms_of(webhook) + 1))
    return updated, names


def _bind_credentials(before: Webhook, after: Webhook, changes: dict[str, Any], names: set[str]) -> None:
    """Custom headers and OAuth2 credentials belong to the origin they were set for: a URL moved
    to another origin drops them, unless the same change gives them again (whoever moves a
    webhook must not send on secrets it may never have been shown)."""
    if "url" not in changes or origin(after.url) == origin(before.url):
        return
    if "sealedHeaders" not in changes and after.sealed_headers:
        after.sealed_headers, after.header_names = None, []
        names |= {"headersEnc", "headerNames"}
    if "auth" not in changes and after.auth:
        after.auth, after.sealed_client_secret = None, None
        names |= {"auth", "authSecretEnc"}


def _ms_of(webhook: Webhook) -> int:
    return parse_iso(webhook.updated_at)


def change(developer_id: str, webhook_id: str, body: Any, repository: WebhookRepository | None = None) -> Webhook:
    changes = parse_changes(body, settings())
    if "headers" in changes:  # sealed once, whatever the tries
        headers = changes.pop("headers")
        changes["sealedHeaders"] = secret_box(settings()).seal_headers(headers, developer_id, webhook_id)
        changes["headerNames"] = sorted(headers)
    if changes.get("auth"):
        secret = changes["auth"].pop("clientSecret")
        changes["sealedClientSecret"] = secret_box(settings()).seal(secret, developer_id, webhook_id, purpose="oauth2")
    elif "auth" in changes:
        changes["sealedClientSecret"] = None
    if changes.get("asymmetricSignature"):
        _ensure_signing_key(developer_id, settings())
    repository = repository or WebhookRepository()
    for _ in range(_SAVE_TRIES):
        current = get(developer_id, webhook_id, repository)
        updated, names = _apply(current, changes, now_ms())
        if repository.save_fields(updated, names, current.updated_at, previous_event=current.event):
            return updated
        # changed (or deleted) since we read it: read again
    raise Unavailable("the webhook kept changing while this request was applied; retry")


def rotate_secret(
    developer_id: str, webhook_id: str, body: Any, repository: WebhookRepository | None = None
) -> tuple[Webhook, str | None]:
    """A new secret (the one given, or a generated one, then answered once). The old one keeps
    signing alongside for the overlap, so receivers can switch without missing a post."""
    config = settings()
    rotation = parse_rotation(body)
    generated = None if rotation.secret else random_secrets.token_urlsafe(32)
    new_secret = rotation.secret or generated or ""
    overlap = config.secret_overlap_seconds if rotation.overlap_seconds is None else rotation.overlap_seconds
    repository = repository or WebhookRepository()
    sealed = secret_box(config).seal(new_secret, developer_id, webhook_id)  # once, whatever the tries
    for _ in range(_SAVE_TRIES):
        current = get(developer_id, webhook_id, repository)
        at = now_ms()
        updated = dataclasses.replace(current)
        keeps_previous = current.sealed_secret is not None and overlap > 0
        updated.sealed_previous_secret = current.sealed_secret if keeps_previous else None
        updated.previous_secret_until_ms = at + overlap * 1000 if keeps_previous else None
        updated.sealed_secret = sealed
        updated.updated_at = iso_ms(max(at, _ms_of(current) + 1))
        names = {"secretEnc", "previousSecretEnc", "previousSecretUntil", "updatedAt"}
        if repository.save_fields(updated, names, current.updated_at):
            return updated, generated
    raise Unavailable("the webhook kept changing while this request was applied; retry")
