"""DynamoDB access for webhooks. Table: developerId (hash) + webhookId (range); sparse index
ActiveByEvent on activeKey = "developer#event", present only while a webhook is enabled."""

from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from events_core.aws import LazyTable, conditional_check_failed
from events_core.webhooks.model import Webhook, active_key

ACTIVE_INDEX = "ActiveByEvent"


class WebhookRepository:
    table = LazyTable("webhooks_table")

    def __init__(self, table: Any = None):
        if table is not None:
            self.table = table

    def add(self, webhook: Webhook) -> None:
        self.table.put_item(Item=webhook.to_item(), ConditionExpression="attribute_not_exists(webhookId)")

    def get(self, developer_id: str, webhook_id: str) -> Webhook | None:
        item = self.table.get_item(Key={"developerId": developer_id, "webhookId": webhook_id}, ConsistentRead=True).get(
            "Item"
        )
        return Webhook.from_item(item) if item else None

    def list_for(self, developer_id: str) -> list[Webhook]:
        return [
            Webhook.from_item(item) for item in self._query(KeyConditionExpression=Key("developerId").eq(developer_id))
        ]

    def active_for(self, developer_id: str, event: str) -> list[dict[str, Any]]:
        """Enabled webhooks of (developer, event): keys and filter only, from the sparse index."""
        return list(
            self._query(
                IndexName=ACTIVE_INDEX, KeyConditionExpression=Key("activeKey").eq(active_key(developer_id, event))
            )
        )

    def delete(self, developer_id: str, webhook_id: str) -> bool:
        """True when it existed (and was this developer's); False otherwise."""
        try:
            self.table.delete_item(
                Key={"developerId": developer_id, "webhookId": webhook_id},
                ConditionExpression="attribute_exists(webhookId)",
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return False
            raise
        return True

    def _query(self, **kwargs: Any):
        while True:
            page = self.table.query(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
