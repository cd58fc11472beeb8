"""A large event's payload, stored once: one item per (developer, event id) in the payloads table,
which every delivery message and delivery record of that event names instead of carrying a copy.

A payload up to INLINE_PAYLOAD_BYTES travels inline, in the message and the record, as before: on
the default path (small events, one webhook) that is the cheapest (no extra item, no extra read;
docs/cost.md). Past it, one copy per webhook would cost more than one shared item plus a read per
attempt, and a developer with 100 webhooks would multiply a 256 KB event by 100 in the queue, in
the fan-out's memory and in the history table.

Lifetime: the item lives at least as long as any record that refers to it. It is written with
the records' retention plus RETRY_SPAN_SECONDS (automatic retries end well inside it), and a
delivery attempt that would make its record outlive the payload first extends the payload — and,
for an event that named subjects (`subjectHashes` on the item), its subject index entries, so an
erasure finds every record that can still hold an answer (events_core.records.subjects).

`refs` counts the deliveries (webhooks' and listen sessions') still on their way with it: the
fan-out writes it in the same put (no extra write), and for a developer whose retention is
`payloadDays: 0` each delivery's settling takes one off (`release`), the last one deleting the
item. The count may only be too high (a fan-out re-run writes it again), never too low: what it
misses the retention sweep removes. An item without `refs` (written before it) is never released.
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from events_core.aws import LazyTable, conditional_check_failed, conditional_update
from events_core.errors import Unavailable
from events_core.records.ledger import RETRY_SPAN_SECONDS  # the default RetrySchedule spans about 28 hours

INLINE_PAYLOAD_BYTES = 4096
UNPROCESSED_RETRIES = 4

PayloadKey = tuple[str, str]  # (developer id, event id)


@dataclass(frozen=True)
class StoredPayload:
    text: str
    expires_at: int


def stored_by_reference(payload: str) -> bool:
    return len(payload.encode()) > INLINE_PAYLOAD_BYTES


class PayloadStore:
    table = LazyTable("payloads_table")

    def __init__(self, table: Any = None):
        if table is not None:
            self.table = table

    def put(
        self,
        developer_id: str,
        event_id: str,
        payload: str,
        *,
        expires_at: int,
        refs: int | None = None,
        subject_hashes: Iterable[str] = (),
    ) -> None:
        """Idempotent: a fan-out re-run writes the same payload again. `refs`: how many deliveries
        this put names it for."""
        item: dict[str, Any] = {
            "developerId": developer_id,
            "eventId": event_id,
            "payload": payload,
            "expiresAt": expires_at + RETRY_SPAN_SECONDS,
        }
        if refs is not None:
            item["refs"] = refs
        if hashes := list(subject_hashes):
            item["subjectHashes"] = hashes  # whose index entries live as long as this item
        self.table.put_item(Item=item)

    def keep(self, developer_id: str, event_id: str, payload: str, *, expires_at: int) -> None:
        """Like `put`, but never shortens the life of a copy already there (the listen sessions'
        copy of an event that webhooks also received keeps the webhooks' retention)."""
        until = expires_at + RETRY_SPAN_SECONDS
        try:
            self.table.put_item(
                Item={"developerId": developer_id, "eventId": event_id, "payload": payload, "expiresAt": until},
                ConditionExpression="attribute_not_exists(eventId) OR expiresAt < :until",
                ExpressionAttributeValues={":until": until},
            )
        except ClientError as error:
            if not conditional_check_failed(error):
                raise

    def get(self, developer_id: str, event_id: str) -> StoredPayload | None:
        item = self.table.get_item(Key={"developerId": developer_id, "eventId": event_id}, ConsistentRead=True).get(
            "Item"
        )
        return _stored(item) if item else None

    def get_many(self, keys: Iterable[PayloadKey]) -> dict[PayloadKey, StoredPayload]:
        """Several payloads in strongly consistent BatchGetItems (a payload written a moment ago by
        the fan-out must be found). Unavailable when some could not be read: a payload that could
        not be read must never be taken for one that expired."""
        wanted = [{"developerId": d, "eventId": e} for d, e in dict.fromkeys(keys)]
        found: dict[PayloadKey, StoredPayload] = {}
        client = self.table.meta.client
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {self.table.name: {"Keys": wanted[start : start + 100], "ConsistentRead": True}}
            for retry in range(UNPROCESSED_RETRIES + 1):
                if retry:
                    time.sleep(0.05 * 2**retry)
                answer = client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table.name, []):
                    found[(item["developerId"], item["eventId"])] = _stored(item)
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise Unavailable("payloads: some could not be read (throttled)")
        return found

    def extend(self, developer_id: str, event_id: str, expires_at: int) -> bool:
        """Keep the payload at least until `expires_at` (a record referring to it lives that long),
        and the subject index entries of its event with it."""
        until = expires_at + RETRY_SPAN_SECONDS
        try:
            answer = self.table.update_item(
                Key={"developerId": developer_id, "eventId": event_id},
                UpdateExpression="SET expiresAt = :until",
                ConditionExpression="attribute_exists(eventId) AND expiresAt < :until",
                ExpressionAttributeValues={":until": until},
                ReturnValues="ALL_NEW",  # rare (a late redelivery): its subject hashes come with it
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return False
            raise
        hashes = answer.get("Attributes", {}).get("subjectHashes")
        if hashes:
            from events_core.records.subjects import SubjectIndex

            SubjectIndex().extend(developer_id, event_id, [str(h) for h in hashes], until)
        return True

    def add_refs(self, developer_id: str, event_id: str, count: int, *, counted_only: bool = False) -> bool:
        """`count` more (or, negative, fewer) deliveries name the payload, which must be there
        (`counted_only`: and already counted, so an item written before counts is never started)."""
        return conditional_update(
            self.table,
            Key={"developerId": developer_id, "eventId": event_id},
            UpdateExpression="ADD refs :count",
            ConditionExpression="attribute_exists(refs)" if counted_only else "attribute_exists(eventId)",
            ExpressionAttributeValues={":count": count},
        )

    def release(self, developer_id: str, event_id: str, count: int = 1) -> bool:
        """`count` deliveries that named the payload have settled: taken off its `refs`, and the
        item deleted when none is left (conditionally, so a delivery added meanwhile keeps it).
        True when it was deleted. Nothing happens to an item without `refs`."""
        key = {"developerId": developer_id, "eventId": event_id}
        try:
            left = self.table.update_item(
                Key=key,
                UpdateExpression="ADD refs :minus",
                ConditionExpression="attribute_exists(refs)",
                ExpressionAttributeValues={":minus": -count},
                ReturnValues="UPDATED_NEW",
            )["Attributes"]["refs"]
        except ClientError as error:
            if conditional_check_failed(error):
                return False
            raise
        if left > 0:
            return False
        try:
            self.table.delete_item(Key=key, ConditionExpression="refs <= :none", ExpressionAttributeValues={":none": 0})
        except ClientError as error:
            if conditional_check_failed(error):
                return False
            raise
        return True

    def delete(self, developer_id: str, event_id: str) -> None:
        """Remove an event's payload (expunge, retention): every record naming it then reads null."""
        self.table.delete_item(Key={"developerId": developer_id, "eventId": event_id})


def _stored(item: dict[str, Any]) -> StoredPayload:
    return StoredPayload(text=str(item["payload"]), expires_at=int(item.get("expiresAt", 0)))
