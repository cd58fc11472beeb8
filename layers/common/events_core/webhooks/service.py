"""Webhook use cases behind the API: register, list, delete. Tenant-scoped by developer id."""

from typing import Any

from events_core.clock import is_id, iso_ms, new_id, now_ms
from events_core.config import settings
from events_core.errors import NotFound
from events_core.webhooks.model import Webhook
from events_core.webhooks.registration import parse_registration
from events_core.webhooks.repository import WebhookRepository


def register(developer_id: str, body: Any, repository: WebhookRepository | None = None) -> Webhook:
    registration = parse_registration(body, settings())
    created = now_ms()
    webhook = Webhook(
        developer_id=developer_id,
        webhook_id=new_id(created),
        event=registration.event,
        url=registration.url,
        secret=registration.secret,
        filter=registration.filter,
        created_at=iso_ms(created),
    )
    (repository or WebhookRepository()).add(webhook)
    return webhook


def list_webhooks(developer_id: str, repository: WebhookRepository | None = None) -> list[Webhook]:
    return (repository or WebhookRepository()).list_for(developer_id)


def delete(developer_id: str, webhook_id: str, repository: WebhookRepository | None = None) -> None:
    # Another developer's id answers exactly like an unknown one: existence is never revealed.
    if not is_id(webhook_id) or not (repository or WebhookRepository()).delete(developer_id, webhook_id):
        raise NotFound(f"webhook {webhook_id!r} not found")
