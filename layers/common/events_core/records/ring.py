"""A ring of the newest delivery records of one owner (a webhook's test sends, a listen session's
deliveries): `size` slots in one item, each naming a record. Taking the next slot hands back the
record it held, which the caller deletes, so the history stays bounded without a read."""

from typing import Any


def push_to_ring(table: Any, key: dict[str, str], delivery_id: str, *, size: int, expires_at: int) -> str | None:
    """Name `delivery_id` in the next slot of the ring at `key`; the delivery id it pushed out, if any."""
    counted = table.update_item(
        Key=key,
        UpdateExpression="ADD seq :one SET expiresAt = :expires",
        ExpressionAttributeValues={":one": 1, ":expires": expires_at},
        ReturnValues="UPDATED_NEW",
    )
    slot = f"slot{int(counted['Attributes']['seq']) % size}"
    held = table.update_item(
        Key=key,
        UpdateExpression="SET #slot = :id",
        ExpressionAttributeNames={"#slot": slot},
        ExpressionAttributeValues={":id": delivery_id},
        ReturnValues="UPDATED_OLD",
    )
    evicted = (held.get("Attributes") or {}).get(slot)
    return evicted if evicted and evicted != delivery_id else None
