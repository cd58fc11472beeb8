"""One JSON document per developer in the ControlTable (their settings, their expunge jobs), written
only over the revision it was read at, so two writers never lose each other's change."""

import json
from typing import Any

from botocore.exceptions import ClientError

from events_core.aws import LazyTable, conditional_check_failed


class RevisionedDocument:
    table = LazyTable("control_table")
    prefix: str  # the item's controlKey is prefix + developer id
    field: str  # the attribute holding the JSON text (each store keeps the name it was written with)

    def __init__(self, table: Any = None):
        if table is not None:
            self.table = table

    def key(self, developer_id: str) -> dict[str, str]:
        return {"controlKey": f"{self.prefix}{developer_id}"}

    def read(self, developer_id: str, *, consistent: bool = True) -> tuple[dict[str, Any], int]:
        item = self.table.get_item(Key=self.key(developer_id), ConsistentRead=consistent).get("Item") or {}
        return json.loads(str(item.get(self.field, "{}"))), int(item.get("revision", 0))

    def write(self, developer_id: str, document: dict[str, Any], revision: int, **extra: Any) -> bool:
        """Write the document if nobody changed it since `revision` was read; False if somebody did."""
        try:
            self.table.put_item(
                Item={
                    **self.key(developer_id),
                    "developerId": developer_id,
                    self.field: json.dumps(document, sort_keys=True, separators=(",", ":")),
                    "revision": revision + 1,
                    **extra,
                },
                ConditionExpression="attribute_not_exists(controlKey) OR revision = :seen",
                ExpressionAttributeValues={":seen": revision},
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return False
            raise
        return True
