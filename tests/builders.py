"""Small builders for requests, events and answers used across the test tiers."""

import json
from dataclasses import dataclass
from typing import Any

REFERENCE_WEBHOOK = {
    "event": "workflow.completed",
    "url": "https://my-server.com/webhooks/workflow",
    "secret": "my-webhook-secret",
    "filter": {},
}


def webhook_body(**fields: Any) -> dict:
    """The reference's create body, with fields replaced (None removes one)."""
    body = {**REFERENCE_WEBHOOK, **fields}
    return {name: value for name, value in body.items() if value is not None}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)

    @property
    def error(self) -> dict:
        return self.json["error"]
