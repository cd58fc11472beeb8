"""Expunge: a developer removes what was kept of their events.

One delivery (`DELETE …/deliveries/{deliveryId}/payload`): the record stays, with `payload: null`,
`expunged: true` and no receivers' answers. A payload stored once for its event (PayloadsTable) is
removed with it, so every delivery of that event then reads null: the developer asked for those
bytes to go. Only a settled delivery (delivered, dead or failed) can be expunged: one on its way
still needs its payload, and an attempt in flight would write it back."""

from events_core.clock import now_ms
from events_core.errors import Conflict, NotFound
from events_core.lifecycle.retention import SETTLED
from events_core.records.message import is_delivery_id
from events_core.records.payloads import PayloadStore
from events_core.records.store import DeliveryStore
from events_core.webhooks import service as webhooks


class DeliveryNotSettled(Conflict):
    code = "delivery_not_settled"


def expunge_delivery(
    developer_id: str,
    webhook_id: str,
    delivery_id: str,
    store: DeliveryStore | None = None,
    payloads: PayloadStore | None = None,
) -> None:
    webhooks.get(developer_id, webhook_id)  # 404 for another developer's webhook
    store = store or DeliveryStore()
    record = store.get(developer_id, webhook_id, delivery_id) if is_delivery_id(delivery_id) else None
    if record is None:
        raise NotFound(f"delivery {delivery_id[:64]!r} not found")
    if record.expunged:
        return  # already: the same answer, nothing left to remove
    if record.status not in SETTLED:
        raise DeliveryNotSettled(
            f"this delivery is {record.status.value}: it is still on its way and needs its payload;"
            " expunge it once it is delivered, dead or failed"
        )
    if not store.expunge(record, now_ms=now_ms()):
        raise DeliveryNotSettled("this delivery is being attempted right now; try again in a moment")
    if record.payload_ref:
        (payloads or PayloadStore()).delete(developer_id, record.payload_ref)
