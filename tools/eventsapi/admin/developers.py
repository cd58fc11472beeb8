"""Off-boarding: a developer leaving the platform is removed from every table that holds their data,
each read by the developer's own partition or index (Query, never Scan).

Order matters: keys first (no new calls), then webhooks with their sealed secrets, headers and
credentials (no new deliveries), then what they produced: delivery records with their payloads,
API-call logs. What is not removed here, and why (README "Off-boarding a developer"): rate counters
expire within seconds; idempotency claims (keyed by developer and key, with no index by developer)
expire within 24 hours; delivery records of webhooks deleted before today have no partition left
to find them by and expire with LogRetentionDays; dead letters expire after 14 days; function logs
expire with LogRetentionDays (CloudWatch Logs cannot delete by content)."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.conditions import Key

from events_core.api_keys import BY_DEVELOPER_INDEX
from events_core.api_logs import shard_key
from events_core.records.model import webhook_key
from eventsapi.admin import keys
from eventsapi.admin.target import Target

MAX_LOG_SHARDS = 64  # the template's LogShards MaxValue


@dataclass
class Removed:
    api_keys: int = 0
    webhooks: int = 0
    deliveries: int = 0
    api_logs: int = 0
    payloads: int = 0
    cache_flushed: bool = False
    notes: list[str] = field(default_factory=list)


def _pages(table: Any, **query: Any) -> Iterator[dict[str, Any]]:
    while True:
        page = table.query(**query)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _delete(table: Any, key_names: tuple[str, ...], items: Iterator[dict[str, Any]]) -> int:
    count = 0
    with table.batch_writer(overwrite_by_pkeys=list(key_names)) as batch:
        for item in items:
            batch.delete_item(Key={name: item[name] for name in key_names})
            count += 1
    return count


def _api_log_items(logs: Any, developer_id: str) -> Iterator[dict[str, Any]]:
    """The developer's API-call log entries in every write shard (events_core.api_logs: shard 0 is the
    plain id, shard n "developer#n"). Every shard the LogShards parameter allows is read, not only
    today's count: entries written under a larger count stay where they were. An item of another
    developer whose own id looks like a shard key ("developer#3") is left alone (its developerId)."""
    for shard in range(MAX_LOG_SHARDS):
        for item in _pages(
            logs,
            KeyConditionExpression=Key("userId").eq(shard_key(developer_id, shard)),
            ProjectionExpression="userId, logId, developerId",
        ):
            if item.get("developerId", developer_id) == developer_id:
                yield item


def remove(target: Target, developer_id: str) -> Removed:
    if not developer_id.strip():
        raise ValueError("developer id must not be empty")
    removed = Removed()
    api_keys = target.table("ApiKeysTableName")
    removed.api_keys = _delete(
        api_keys,
        ("keyHash",),
        # The index projects no keyHash beyond the table key, which every index entry carries.
        _pages(api_keys, IndexName=BY_DEVELOPER_INDEX, KeyConditionExpression=Key("developerId").eq(developer_id)),
    )
    if removed.api_keys:  # a cached authorization must not outlive the key
        removed.cache_flushed = keys.flush_authorizer_cache(target)

    webhooks_table = target.table("WebhooksTableName")
    owned = list(_pages(webhooks_table, KeyConditionExpression=Key("developerId").eq(developer_id)))
    webhook_ids = [item["webhookId"] for item in owned if not str(item["webhookId"]).startswith("~")]

    deliveries = target.table("DeliveriesTableName")
    for webhook_id in webhook_ids:
        partition = webhook_key(developer_id, webhook_id)
        removed.deliveries += _delete(
            deliveries,
            ("webhookKey", "deliveryId"),
            _pages(
                deliveries,
                KeyConditionExpression=Key("webhookKey").eq(partition),
                ProjectionExpression="webhookKey, deliveryId",
            ),
        )
    # Webhooks after their records: an interrupted run can be repeated and still finds the records.
    _delete(webhooks_table, ("developerId", "webhookId"), iter(owned))
    removed.webhooks = len(webhook_ids)

    if "PayloadsTableName" in target.outputs:  # payloads stored once, by developer and event
        payloads = target.table("PayloadsTableName")
        removed.payloads = _delete(
            payloads,
            ("developerId", "eventId"),
            _pages(
                payloads,
                KeyConditionExpression=Key("developerId").eq(developer_id),
                ProjectionExpression="developerId, eventId",
            ),
        )

    logs = target.table("ApiLogsTableName")
    removed.api_logs = _delete(logs, ("userId", "logId"), _api_log_items(logs, developer_id))
    removed.notes.append(
        "left to expire: rate counters (seconds), idempotency claims (24 hours), dead letters (14 days),"
        " function logs and the records of"
        " webhooks deleted earlier (LogRetentionDays)"
    )
    return removed
