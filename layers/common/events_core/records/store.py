"""DynamoDB access for delivery records: the one owner of the deliveries table.

Table: webhookKey = "developer#webhook" (hash) + deliveryId (range; time-ordered, so a backwards
Query lists a webhook's deliveries newest first and a key range is a time window). Sparse index
FailedByWebhook on failedKey, present only while a delivery is retrying or dead.

The record is also the pipeline's duplicate guard: an attempt starts only by taking the record's
lease with one conditional write that names the attempt it is for (see `lease`).
"""

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from events_core import cursors
from events_core.aws import LazyTable, conditional_check_failed, conditional_update
from events_core.records.message import DeliveryMessage, Trigger, delivery_id_floor, is_delivery_id
from events_core.records.model import HELD_BY_CIRCUIT, INDEXED_STATUSES, DeliveryRecord, DeliveryStatus, webhook_key

FAILED_INDEX = "FailedByWebhook"
_DESERIALIZE = TypeDeserializer()
_NAMES = {"#attempt": "attempt", "#status": "status", "#event": "event"}


class LeaseVerdict(StrEnum):
    TAKEN = "taken"  # this message may post now, as attempt `Lease.attempt`
    STALE = "stale"  # its attempt already happened (a duplicate, a re-run, a superseded retry)
    BUSY = "busy"  # another invocation is posting this delivery right now


@dataclass(frozen=True)
class Lease:
    verdict: LeaseVerdict
    record: DeliveryRecord | None = None
    attempt: int = 0
    busy_seconds: float = 0.0


@dataclass(frozen=True)
class Page:
    records: list[DeliveryRecord]
    next_cursor: str | None


def encode_cursor(delivery_id: str, scope: Mapping[str, object]) -> str:
    """A signed cursor (events_core.cursors) that goes on after `delivery_id`, for `scope` only."""
    return cursors.seal({"after": delivery_id}, scope)


def decode_cursor(cursor: str, scope: Mapping[str, object]) -> str:
    """The delivery id a cursor continues after; InvalidCursor for anything this stack did not
    sign for this very query (another developer, webhook, filter or window)."""
    found = cursors.open_cursor(cursor, scope).get("after")
    if not isinstance(found, str) or not is_delivery_id(found):
        raise cursors.InvalidCursor("cursor: not a cursor this API handed out for this query", field="cursor")
    return found


@contextmanager
def _paging() -> Iterator[None]:
    """DynamoDB refuses a start key outside the key condition with a ValidationException: a 400."""
    try:
        yield
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ValidationException":
            raise cursors.InvalidCursor("cursor: does not belong to this query", field="cursor") from None
        raise


# What a listed delivery shows: no payload and no attempts, which a page never returns (review N5).
_LISTED_FIELDS = [
    "webhookKey",
    "deliveryId",
    "developerId",
    "webhookId",
    "eventId",
    "event",
    "status",
    "createdAt",
    "attempt",
    "lastAttemptAt",
    "nextAttemptAt",
    "lastStatus",
    "lastError",
    "test",
    "leaseUntil",
    "expiresAt",
    "traceparent",  # answered as traceId
    "expunged",
    "erased",
    "heldReason",
]
_LISTED = {
    "ProjectionExpression": ", ".join(f"#p{n}" for n in range(len(_LISTED_FIELDS))),
    "ExpressionAttributeNames": {f"#p{n}": name for n, name in enumerate(_LISTED_FIELDS)},
}


def _key(developer_id: str, webhook_id: str, delivery_id: str) -> dict[str, str]:
    return {"webhookKey": webhook_key(developer_id, webhook_id), "deliveryId": delivery_id}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZE.deserialize(value) for name, value in item.items()}


class DeliveryStore:
    table = LazyTable("deliveries_table")

    def __init__(self, table: Any = None):
        if table is not None:
            self.table = table

    # -- the pipeline
    def lease(self, message: DeliveryMessage, *, until_ms: int, now_ms: int, expires_at: int) -> Lease:
        """Take the right to make attempt `message.attempt`: only if the record's last attempt is
        the one before it (or this very attempt, abandoned by a crashed invocation), and nobody holds
        the lease. One conditional write; a refusal says why (stale, or busy for how long)."""
        attempt = message.attempt
        if attempt == 1:
            first = self._lease_first(message, until_ms=until_ms, expires_at=expires_at)
            if first is not None:
                return first
        try:
            answer = self.table.update_item(
                Key=_key(message.developer_id, message.webhook_id, message.delivery_id),
                UpdateExpression=(
                    "SET #attempt = :n, leaseUntil = :until, expiresAt = :expires,"
                    " developerId = if_not_exists(developerId, :developer),"
                    " webhookId = if_not_exists(webhookId, :webhook),"
                    " eventId = if_not_exists(eventId, :event_id),"
                    " #event = if_not_exists(#event, :event),"
                    " createdAt = if_not_exists(createdAt, :created),"
                    " #status = if_not_exists(#status, :pending),"
                    " attempts = if_not_exists(attempts, :none)"
                ),
                ConditionExpression=(
                    "attribute_not_exists(deliveryId)"
                    " OR (#attempt = :previous AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now))"
                    " OR (#attempt = :n AND leaseUntil < :now)"
                ),
                ExpressionAttributeNames=_NAMES,
                ExpressionAttributeValues={
                    ":n": attempt,
                    ":previous": attempt - 1,
                    ":until": until_ms,
                    ":now": now_ms,
                    ":expires": expires_at,
                    ":developer": message.developer_id,
                    ":webhook": message.webhook_id,
                    ":event_id": message.event_id,
                    ":event": message.event,
                    ":created": message.timestamp,
                    ":pending": DeliveryStatus.PENDING.value,
                    ":none": [],
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not conditional_check_failed(error):
                raise
            current = DeliveryRecord.from_item(_plain(error.response.get("Item") or {}))
            return self._refused(message, current, until_ms=until_ms, now_ms=now_ms, expires_at=expires_at)
        return Lease(LeaseVerdict.TAKEN, DeliveryRecord.from_item(answer["Attributes"]), attempt)

    def _lease_first(self, message: DeliveryMessage, *, until_ms: int, expires_at: int) -> Lease | None:
        """Most posts are a first attempt with no record yet: create it, leased, with a plain
        conditional put (cheaper to evaluate than the general update). None when a record exists:
        the general rule then decides (a duplicate, or an attempt abandoned by a crash)."""
        record = DeliveryRecord(
            delivery_id=message.delivery_id,
            developer_id=message.developer_id,
            webhook_id=message.webhook_id,
            event_id=message.event_id,
            event=message.event,
            created_at=message.timestamp,
            status=DeliveryStatus.PENDING,
            attempt=1,
            lease_until_ms=until_ms,
            expires_at=expires_at,
            traceparent=message.traceparent,
            tracestate=message.tracestate,
        )
        try:
            self.table.put_item(Item=record.to_item(), ConditionExpression=Attr("deliveryId").not_exists())
        except ClientError as error:
            if conditional_check_failed(error):
                return None
            raise
        return Lease(LeaseVerdict.TAKEN, record, 1)

    def _refused(
        self, message: DeliveryMessage, current: DeliveryRecord, *, until_ms: int, now_ms: int, expires_at: int
    ) -> Lease:
        held = current.lease_until_ms is not None and current.lease_until_ms >= now_ms
        if held and current.attempt in (message.attempt - 1, message.attempt):
            return Lease(
                LeaseVerdict.BUSY, current, busy_seconds=(current.lease_until_ms or now_ms) / 1000 - now_ms / 1000
            )
        redrive = (
            message.trigger == Trigger.REDRIVE
            and current.status == DeliveryStatus.DEAD
            and current.attempt == message.attempt
            and current.lease_until_ms is None
        )
        if redrive:
            # Moved back from the dead-letter queue by an operator: one more attempt, once.
            onward = message.next(message.attempt + 1, Trigger.REDRIVE, queued_at_ms=message.queued_at_ms)
            return self.lease(onward, until_ms=until_ms, now_ms=now_ms, expires_at=expires_at)
        return Lease(LeaseVerdict.STALE, current)

    def save(self, records: Iterable[DeliveryRecord]) -> None:
        """Write records whole (the lease holder's final word on its attempt), in batches."""
        with self.table.batch_writer() as batch:
            for record in records:
                batch.put_item(Item=record.to_item())

    def put(self, record: DeliveryRecord) -> None:
        self.table.put_item(Item=record.to_item())

    def mark_dead(self, message: DeliveryMessage, reason: str, *, at: str, expires_at: int) -> bool:
        """A post that was never attempted (its webhook is disabled) rests here as dead, payload and
        all, so `recover` can send it once the webhook is on again. False for a stale message."""
        carried = "payload" if message.payload is not None else "payloadRef"
        return conditional_update(
            self.table,
            Key=_key(message.developer_id, message.webhook_id, message.delivery_id),
            UpdateExpression=(
                "SET #status = :dead, lastError = :reason, lastAttemptAt = if_not_exists(lastAttemptAt, :at),"
                f" {carried} = if_not_exists({carried}, :payload), failedKey = :failed, expiresAt = :expires,"
                " #attempt = if_not_exists(#attempt, :previous), developerId = :developer,"
                " webhookId = :webhook, eventId = :event_id, #event = :event,"
                " createdAt = if_not_exists(createdAt, :created), attempts = if_not_exists(attempts, :none)"
                " REMOVE nextAttemptAt"
            ),
            ConditionExpression=(
                "attribute_not_exists(deliveryId) OR (#attempt = :previous AND attribute_not_exists(leaseUntil))"
            ),
            ExpressionAttributeNames=_NAMES,
            ExpressionAttributeValues={
                ":dead": DeliveryStatus.DEAD.value,
                ":reason": reason,
                ":at": at,
                ":payload": message.payload if message.payload is not None else message.payload_ref,
                ":failed": webhook_key(message.developer_id, message.webhook_id),
                ":expires": expires_at,
                ":previous": message.attempt - 1,
                ":developer": message.developer_id,
                ":webhook": message.webhook_id,
                ":event_id": message.event_id,
                ":event": message.event,
                ":created": message.timestamp,
                ":none": [],
            },
        )

    def mark_waiting(
        self,
        message: DeliveryMessage,
        status: DeliveryStatus,
        *,
        next_at: str | None,
        expires_at: int,
        held_reason: str | None = None,
    ) -> bool:
        """A post that waits without an attempt: `throttled` (for its rate-limit slot, at `next_at`)
        or `held` (its webhook's circuit is open; in the sparse index, payload and all, to be
        released). False when the message is stale (its attempt was made or is being made)."""
        carried = "payload" if message.payload is not None else "payloadRef"
        values: dict[str, Any] = {
            ":status": status.value,
            ":payload": message.payload if message.payload is not None else message.payload_ref,
            ":expires": expires_at,
            ":previous": message.attempt - 1,
            ":developer": message.developer_id,
            ":webhook": message.webhook_id,
            ":event_id": message.event_id,
            ":event": message.event,
            ":created": message.timestamp,
            ":none": [],
        }
        sets = [
            "#status = :status",
            # The payload itself, or (stored once for a large event) the name it is stored under.
            f"{carried} = if_not_exists({carried}, :payload)",
            "expiresAt = :expires",
            "#attempt = if_not_exists(#attempt, :previous)",
            "developerId = :developer",
            "webhookId = :webhook",
            "eventId = :event_id",
            "#event = :event",
            "createdAt = if_not_exists(createdAt, :created)",
            "attempts = if_not_exists(attempts, :none)",
        ]
        removes = []
        if status in INDEXED_STATUSES:
            sets.append("failedKey = :failed")
            values[":failed"] = webhook_key(message.developer_id, message.webhook_id)
        else:
            removes.append("failedKey")
        if status == DeliveryStatus.HELD:
            sets.append("heldReason = :held_reason")  # the circuit's, or its key's order (events_core.ordering)
            values[":held_reason"] = held_reason or HELD_BY_CIRCUIT
        else:
            removes.append("heldReason")
        if next_at is None:
            removes.append("nextAttemptAt")
        else:
            sets.append("nextAttemptAt = :next")
            values[":next"] = next_at
        return conditional_update(
            self.table,
            Key=_key(message.developer_id, message.webhook_id, message.delivery_id),
            UpdateExpression="SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
            ConditionExpression=(
                "attribute_not_exists(deliveryId) OR (#attempt = :previous AND attribute_not_exists(leaseUntil))"
            ),
            ExpressionAttributeNames=_NAMES,
            ExpressionAttributeValues=values,
        )

    def held(self, developer_id: str, webhook_id: str, *, limit: int, after: str | None = None) -> Page:
        """Held deliveries of one webhook, oldest first (the sparse index); `next_cursor` is the
        last delivery id read when more may follow."""
        key = webhook_key(developer_id, webhook_id)
        query: dict[str, Any] = {
            "IndexName": FAILED_INDEX,
            "KeyConditionExpression": Key("failedKey").eq(key),
            "FilterExpression": Attr("status").eq(DeliveryStatus.HELD.value),
            "Limit": limit,
        }
        if after is not None:
            query["ExclusiveStartKey"] = {"failedKey": key, "webhookKey": key, "deliveryId": after}
        answer = self.table.query(**query)
        last = answer.get("LastEvaluatedKey")
        return Page(
            [DeliveryRecord.from_item(item) for item in answer.get("Items", [])],
            last["deliveryId"] if last else None,
        )

    def unhold(self, record: DeliveryRecord, status: DeliveryStatus, *, reason: str | None = None) -> bool:
        """Move a held delivery on: to `pending` (released; its message is queued next) or `dead`
        (its webhook was disabled; `recover` sends it later). Once, whoever else tries."""
        values: dict[str, Any] = {
            ":status": status.value,
            ":held": DeliveryStatus.HELD.value,
            ":attempt": record.attempt,
        }
        update = "SET #status = :status"
        if status == DeliveryStatus.DEAD:
            update += ", lastError = :reason"
            values[":reason"] = reason or "webhook disabled"
        else:
            update += " REMOVE failedKey, nextAttemptAt"
        return conditional_update(
            self.table,
            Key=_key(record.developer_id, record.webhook_id, record.delivery_id),
            UpdateExpression=update,
            ConditionExpression="#status = :held AND #attempt = :attempt",
            ExpressionAttributeNames={"#status": "status", "#attempt": "attempt"},
            ExpressionAttributeValues=values,
        )

    # -- the API
    def expunge(self, record: DeliveryRecord, *, now_ms: int) -> bool:
        """Remove a settled record's payload and receivers' answers, keeping the record (expunged).
        Conditional on the record as read (its attempt) and on no lease: an attempt in flight would
        write the payload back."""
        stripped = [replace(attempt, response_excerpt="").to_item() for attempt in record.attempts]
        return conditional_update(
            self.table,
            Key=_key(record.developer_id, record.webhook_id, record.delivery_id),
            UpdateExpression="REMOVE payload, payloadRef SET expunged = :yes, attempts = :attempts",
            ConditionExpression="attempt = :seen AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)",
            ExpressionAttributeValues={":yes": True, ":attempts": stripped, ":seen": record.attempt, ":now": now_ms},
        )

    def get(self, developer_id: str, webhook_id: str, delivery_id: str) -> DeliveryRecord | None:
        item = self.table.get_item(Key=_key(developer_id, webhook_id, delivery_id), ConsistentRead=True).get("Item")
        return DeliveryRecord.from_item(item) if item else None

    def page(
        self,
        developer_id: str,
        webhook_id: str,
        *,
        limit: int,
        status: DeliveryStatus | None = None,
        since_ms: int | None = None,
        cursor: str | None = None,
        read_budget: int = 1000,
    ) -> Page:
        """Newest first. Unfiltered, a page reads limit + 1 items whatever the table holds; filtered
        by retrying or dead it reads the sparse index; by pending or succeeded, at most
        `read_budget` items, then hands back a cursor to go on."""
        key = webhook_key(developer_id, webhook_id)
        scope = {"route": "deliveries", "key": key, "status": status and status.value, "since": since_ms}
        uses_index = status in INDEXED_STATUSES
        condition = Key("failedKey" if uses_index else "webhookKey").eq(key)
        if since_ms is not None:
            condition = condition & Key("deliveryId").gte(delivery_id_floor(since_ms))
        query: dict[str, Any] = {"KeyConditionExpression": condition, "ScanIndexForward": False, **_LISTED}
        if uses_index:
            query["IndexName"] = FAILED_INDEX
        if status is not None:
            query["FilterExpression"] = Attr("status").eq(status.value)
        if status == DeliveryStatus.DEAD:  # failed tests stored as dead before `failed` existed
            query["FilterExpression"] &= Attr("test").not_exists()
        if status == DeliveryStatus.FAILED:  # and such a test, stored as dead, is a failed one
            query["FilterExpression"] = Attr("status").is_in(["failed", "dead"]) & Attr("test").exists()
        if cursor is not None:
            after = decode_cursor(cursor, scope)
            start = {"webhookKey": key, "deliveryId": after}
            query["ExclusiveStartKey"] = {**start, "failedKey": key} if uses_index else start
        found: list[DeliveryRecord] = []
        read = 0
        while True:
            with _paging():
                answer = self.table.query(
                    Limit=limit + 1 - len(found) if status is None else min(limit * 2, 100), **query
                )
            read += int(answer.get("ScannedCount", 0))
            found.extend(DeliveryRecord.from_item(item) for item in answer.get("Items", []))
            last = answer.get("LastEvaluatedKey")
            if len(found) > limit:
                return Page(found[:limit], encode_cursor(found[limit - 1].delivery_id, scope))
            if last is None:
                return Page(found, None)
            if read >= read_budget:
                return Page(found, encode_cursor(last["deliveryId"], scope))
            query["ExclusiveStartKey"] = last

    def dead_keys(
        self, developer_id: str, webhook_id: str, *, since_ms: int, until_ms: int, after: str | None, limit: int
    ) -> list[tuple[str, int]]:
        """(delivery id, attempt) of up to `limit` dead deliveries of one webhook in [since, until],
        oldest first, after the delivery id `after`: keys only, no payloads held (recover)."""
        key = webhook_key(developer_id, webhook_id)
        query: dict[str, Any] = {
            "IndexName": FAILED_INDEX,
            "KeyConditionExpression": Key("failedKey").eq(key)
            & Key("deliveryId").between(delivery_id_floor(since_ms), delivery_id_floor(until_ms + 1)),
            # Test sends are one-offs: a failed one is history, not something to recover.
            "FilterExpression": Attr("status").eq(DeliveryStatus.DEAD.value) & Attr("test").not_exists(),
            "ProjectionExpression": "deliveryId, #attempt",
            "ExpressionAttributeNames": {"#attempt": "attempt"},
        }
        if after is not None:
            query["ExclusiveStartKey"] = {"failedKey": key, "webhookKey": key, "deliveryId": after}
        found: list[tuple[str, int]] = []
        while len(found) < limit:
            with _paging():
                answer = self.table.query(Limit=limit - len(found), **query)
            found.extend((item["deliveryId"], int(item["attempt"])) for item in answer.get("Items", []))
            if "LastEvaluatedKey" not in answer:
                break
            query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return found

    def fetch(self, developer_id: str, webhook_id: str, delivery_ids: list[str]) -> list[DeliveryRecord] | None:
        """The records of up to 100 deliveries, strongly consistent, in the order asked;
        None when DynamoDB would not return them all after a few tries."""
        keys = [_key(developer_id, webhook_id, delivery_id) for delivery_id in delivery_ids]
        found: dict[str, DeliveryRecord] = {}
        request = {self.table.name: {"Keys": keys, "ConsistentRead": True}}
        for _ in range(4):
            answer = self.table.meta.client.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(self.table.name, []):
                record = DeliveryRecord.from_item(item)  # the resource's client speaks plain types
                found[record.delivery_id] = record
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                return [found[delivery_id] for delivery_id in delivery_ids if delivery_id in found]
        return None

    def requeued(self, record: DeliveryRecord, *, only_if_dead: bool, now_ms: int = 0) -> bool:
        """Mark a record pending (redeliver: before its message is queued; recover: after), if its
        attempt has not moved on since it was read and nobody is posting it right now; for recover,
        only if it is still dead — so a second call in a row finds nothing left to queue. Never a
        `held` or `throttled` one: it is on its way already (through the circuit, at its slot)."""
        condition = "#attempt = :attempt AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)" + (
            " AND #status = :dead" if only_if_dead else " AND #status <> :held AND #status <> :throttled"
        )
        values: dict[str, Any] = {
            ":pending": DeliveryStatus.PENDING.value,
            ":attempt": record.attempt,
            ":now": now_ms,
        }
        if only_if_dead:
            values[":dead"] = DeliveryStatus.DEAD.value
        else:
            values[":held"] = DeliveryStatus.HELD.value
            values[":throttled"] = DeliveryStatus.THROTTLED.value
        return conditional_update(
            self.table,
            Key=_key(record.developer_id, record.webhook_id, record.delivery_id),
            UpdateExpression="SET #status = :pending REMOVE failedKey, nextAttemptAt",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#status": "status", "#attempt": "attempt"},
            ExpressionAttributeValues=values,
        )

    def unqueue(self, record: DeliveryRecord) -> bool:
        """Undo `requeued` when the message could not be queued after all."""
        restored = record.to_item()
        sets = "SET #status = :status" + (", failedKey = :failed" if "failedKey" in restored else "")
        values: dict[str, Any] = {
            ":status": record.status.value,
            ":pending": DeliveryStatus.PENDING.value,
            ":attempt": record.attempt,
        }
        if "failedKey" in restored:
            values[":failed"] = restored["failedKey"]
        return conditional_update(
            self.table,
            Key=_key(record.developer_id, record.webhook_id, record.delivery_id),
            UpdateExpression=sets,
            ConditionExpression="#status = :pending AND #attempt = :attempt",
            ExpressionAttributeNames={"#status": "status", "#attempt": "attempt"},
            ExpressionAttributeValues=values,
        )
