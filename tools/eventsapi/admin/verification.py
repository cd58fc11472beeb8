"""`eventsapi webhooks require-verification`: when a stack switches EndpointVerification to
required, the webhooks it already has stay verified (they carry no verification state). This marks
them pending (and off, `disabledReason: "unverified"`) when the platform wants every URL proven;
each then receives nothing until it answers a challenge (POST /v1/events/webhooks/{id}/verify).
Only enabled webhooks are switched off; a paused one stays paused and pending."""

from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.conditions import Key

from events_core.aws import conditional_update
from events_core.webhooks.model import DisabledReason
from events_core.webhooks.repository import COUNTER
from eventsapi.admin.target import Target


def _webhooks(table: Any, developer_id: str | None) -> Iterator[dict[str, Any]]:
    """An operator's walk: one developer's webhooks (a Query), or every webhook (a Scan, never in
    deployed code)."""
    request: dict[str, Any] = {"ProjectionExpression": "developerId, webhookId"}
    if developer_id:
        request["KeyConditionExpression"] = Key("developerId").eq(developer_id) & Key("webhookId").lt(COUNTER)
    read = table.query if developer_id else table.scan
    while True:
        page = read(**request)
        yield from (item for item in page.get("Items", []) if not item["webhookId"].startswith("~"))  # counter, markers
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def require_all(target: Target, developer_id: str | None, at_ms: int) -> int:
    """Mark every webhook (of one developer, or all) pending; how many changed."""
    table = target.table("WebhooksTableName")
    changed = 0
    for item in _webhooks(table, developer_id):
        key = {"developerId": item["developerId"], "webhookId": item["webhookId"]}
        disabled = conditional_update(
            table,
            Key=key,
            UpdateExpression=(
                "SET verificationStatus = :pending, enabled = :false, disabledReason = :unverified,"
                " disabledAt = :at REMOVE verifiedAt, activeKey"
            ),
            ConditionExpression="enabled = :true",
            ExpressionAttributeValues={
                ":pending": "pending",
                ":false": False,
                ":true": True,
                ":unverified": DisabledReason.UNVERIFIED.value,
                ":at": at_ms,
            },
        )
        marked = disabled or conditional_update(
            table,
            Key=key,
            UpdateExpression="SET verificationStatus = :pending REMOVE verifiedAt",
            ConditionExpression="attribute_exists(webhookId) AND verificationStatus <> :pending",
            ExpressionAttributeValues={":pending": "pending"},
        )
        changed += bool(marked)
    return changed
