"""A bounded history of test sends: each webhook keeps the records of its last KEPT test sends.

Test sends are posts a developer can make at will (within the post budget); each writes a
delivery record with up to a 64 KiB payload. Without a bound that history grows without limit
(it was found unbounded once). A ring of KEPT slots per webhook in the ControlTable remembers which records are
the newest: taking a slot hands back the record it held, which is then deleted.
"""

from typing import Any

from botocore.exceptions import ClientError

from events_core.aws import LazyTable, conditional_check_failed
from events_core.records.model import webhook_key
from events_core.records.ring import push_to_ring

KEPT = 20


class ProbeHistory:
    table = LazyTable("control_table")
    deliveries = LazyTable("deliveries_table")

    def __init__(self, table: Any = None, deliveries: Any = None):
        if table is not None:
            self.table = table
        if deliveries is not None:
            self.deliveries = deliveries

    def keep(self, developer_id: str, webhook_id: str, delivery_id: str, *, expires_at: int) -> str | None:
        """Remember the newest test send; delete and return the one it pushed out, if any."""
        key = {"controlKey": f"tests#{developer_id}#{webhook_id}"}
        evicted = push_to_ring(self.table, key, delivery_id, size=KEPT, expires_at=expires_at)
        if evicted:
            try:
                self.deliveries.delete_item(
                    Key={"webhookKey": webhook_key(developer_id, webhook_id), "deliveryId": evicted},
                    ConditionExpression="attribute_exists(test)",  # only ever a test send's record
                )
            except ClientError as error:
                if not conditional_check_failed(error):
                    raise
        return evicted
