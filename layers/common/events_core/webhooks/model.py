"""A webhook subscription as stored and as answered."""

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Webhook:
    developer_id: str
    webhook_id: str
    event: str
    url: str
    created_at: str
    secret: str | None = None
    filter: dict = field(default_factory=dict)
    enabled: bool = True
    last_triggered: str | None = None
    fail_count: int = 0

    def public(self) -> dict[str, Any]:
        """The answer's shape: `id` (create) and `_id` (list) both, and never the secret."""
        return {
            "id": self.webhook_id,
            "_id": self.webhook_id,
            "developerId": self.developer_id,
            "event": self.event,
            "url": self.url,
            "filter": self.filter,
            "enabled": self.enabled,
            "createdAt": self.created_at,
            "lastTriggered": self.last_triggered,
            "failCount": self.fail_count,
        }

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "developerId": self.developer_id,
            "webhookId": self.webhook_id,
            "event": self.event,
            "url": self.url,
            # Stored as JSON text: keeps floats exact and empty strings legal in DynamoDB.
            "filterJson": json.dumps(self.filter, separators=(",", ":")),
            "enabled": self.enabled,
            "createdAt": self.created_at,
            "failCount": self.fail_count,
        }
        if self.secret:
            item["secret"] = self.secret
        if self.last_triggered:
            item["lastTriggered"] = self.last_triggered
        if self.enabled:
            item["activeKey"] = active_key(self.developer_id, self.event)
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> "Webhook":
        return cls(
            developer_id=item["developerId"],
            webhook_id=item["webhookId"],
            event=item["event"],
            url=item["url"],
            created_at=item["createdAt"],
            secret=item.get("secret"),
            filter=json.loads(item.get("filterJson") or "{}"),
            enabled=bool(item.get("enabled", True)),
            last_triggered=item.get("lastTriggered"),
            fail_count=int(item.get("failCount", 0)),
        )


def active_key(developer_id: str, event: str) -> str:
    """Key of the sparse index holding only enabled webhooks: one Query per (developer, event)."""
    return f"{developer_id}#{event}"
