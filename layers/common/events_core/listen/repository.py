"""DynamoDB access for listen sessions and the deliveries waiting in them: the one owner of the
listen table (see events_core.listen.model for its layout). A waiting delivery and its history
record (the deliveries table, webhook id = session id) are written and completed together in one
transaction, so a fan-out re-run never hands a delivery out twice and an answer is recorded once."""

from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from events_core import event_patterns
from events_core.aws import LazyTable, conditional_check_failed, conditional_update
from events_core.config import settings
from events_core.event_types import EVENT_TYPES
from events_core.listen.model import (
    LISTEN_KEPT,
    POLL_PREFIX,
    POLLS_PER_DEVELOPER,
    POLLS_PER_SESSION,
    READY_INDEX,
    SESSION_PREFIX,
    Session,
    Waiting,
    marker_id,
    session_sk,
    slot_of,
    waiting_pk,
)
from events_core.records.ledger import ledger_item
from events_core.records.model import Attempt, DeliveryRecord, DeliveryStatus, webhook_key
from events_core.records.ring import push_to_ring
from events_core.webhooks.model import active_key


def _cancelled(error: ClientError) -> bool:
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return False
    reasons = error.response.get("CancellationReasons") or []
    return any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons)


class ListenStore:
    table = LazyTable("listen_table")
    deliveries = LazyTable("deliveries_table")
    webhooks = LazyTable("webhooks_table")

    def __init__(self, table: Any = None, deliveries: Any = None, webhooks: Any = None):
        if table is not None:
            self.table = table
        if deliveries is not None:
            self.deliveries = deliveries
        if webhooks is not None:
            self.webhooks = webhooks

    # -- sessions
    def sessions_of(self, developer_id: str, *, consistent: bool = False) -> list[Session]:
        """Every session item of a developer (at most SESSION_SLOTS, live or expired): one Query."""
        answer = self.table.query(
            KeyConditionExpression=Key("pk").eq(developer_id) & Key("sk").begins_with(SESSION_PREFIX),
            ConsistentRead=consistent,
        )
        return [Session.from_item(item) for item in answer.get("Items", [])]

    def session(self, developer_id: str, session_id: str) -> Session | None:
        slot = slot_of(session_id)
        if slot is None:
            return None
        item = self.table.get_item(Key={"pk": developer_id, "sk": session_sk(slot)}, ConsistentRead=True).get("Item")
        if not item or item.get("sessionId") != session_id:
            return None
        return Session.from_item(item)

    def _markers(self, developer_id: str, slot: int, events: tuple[str, ...] | None) -> list[dict[str, Any]]:
        """The slot's entries in the webhooks' sparse index, which the fan-out already reads for every
        event: a marker for each type the session takes (put), the other types' removed. So an event
        of a developer who is not listening costs no read at all for sessions. `events` None: remove all."""
        taken = () if events is None else (events or ("*",))
        wanted = {name for pattern in taken for name in event_patterns.types_of(pattern)}
        entries: list[dict[str, Any]] = []
        for event in EVENT_TYPES:
            key = {"developerId": developer_id, "webhookId": marker_id(slot, event)}
            if event in wanted:
                item = {**key, "activeKey": active_key(developer_id, event), "filterJson": "{}"}
                entries.append({"Put": {"TableName": self.webhooks.name, "Item": item}})
            else:
                entries.append({"Delete": {"TableName": self.webhooks.name, "Key": key}})
        return entries

    def _ledger(self, session: Session, now_ms: int) -> dict[str, Any]:
        """The session's entry in the partition ledger (events_core.records.ledger): its records
        outlive it, and a session may end silently, so the entry is written when it opens and
        renewed with it."""
        item = ledger_item(
            session.developer_id, session.session_id, now_s=now_ms // 1000, retention_days=settings().log_retention_days
        )
        return {"Put": {"TableName": self.deliveries.name, "Item": item}}

    def take_slot(self, session: Session, now_ms: int) -> bool:
        """Store the session in its slot if the slot is free or its session has expired (with its
        markers and its ledger entry, in one transaction)."""
        try:
            self.table.meta.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table.name,
                            "Item": session.to_item(),
                            "ConditionExpression": "attribute_not_exists(sk) OR expiresAtMs < :now",
                            "ExpressionAttributeValues": {":now": now_ms},
                        }
                    },
                    *self._markers(session.developer_id, session.slot, session.events),
                    self._ledger(session, now_ms),
                ]
            )
        except ClientError as error:
            if _cancelled(error):
                return False
            raise
        return True

    def renew(self, session: Session, now_ms: int, expires_at_ms: int) -> bool:
        self.deliveries.put_item(Item=self._ledger(session, now_ms)["Put"]["Item"])  # at most once a minute
        return conditional_update(
            self.table,
            Key={"pk": session.developer_id, "sk": session_sk(session.slot)},
            UpdateExpression="SET lastPollAt = :now, expiresAtMs = :until, expiresAt = :ttl",
            ConditionExpression="sessionId = :id AND expiresAtMs > :now",
            ExpressionAttributeValues={
                ":now": now_ms,
                ":until": expires_at_ms,
                ":ttl": expires_at_ms // 1000 + 60,
                ":id": session.session_id,
            },
        )

    def end(self, developer_id: str, session_id: str, now_ms: int) -> bool:
        """Delete a live session; False when there is none by that id."""
        slot = slot_of(session_id)
        if slot is None:
            return False
        try:
            self.table.meta.client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self.table.name,
                            "Key": {"pk": developer_id, "sk": session_sk(slot)},
                            "ConditionExpression": "sessionId = :id AND expiresAtMs > :now",
                            "ExpressionAttributeValues": {":id": session_id, ":now": now_ms},
                        }
                    },
                    *self._markers(developer_id, slot, None),
                ]
            )
        except ClientError as error:
            if _cancelled(error):
                return False
            raise
        return True

    # -- deliveries waiting in a session
    def enqueue(self, waiting: Waiting, record: DeliveryRecord) -> bool:
        """The waiting delivery and its history record, together; False when they already exist."""
        client = self.table.meta.client
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table.name,
                            "Item": waiting.to_item(),
                            "ConditionExpression": "attribute_not_exists(sk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.deliveries.name,
                            "Item": record.to_item(),
                            "ConditionExpression": "attribute_not_exists(deliveryId)",
                        }
                    },
                ]
            )
        except ClientError as error:
            if _cancelled(error):
                return False
            raise
        return True

    def ready(self, developer_id: str, session_id: str, now_ms: int, limit: int) -> list[Waiting]:
        """Up to `limit` waiting deliveries nobody holds a lease on, oldest first: the ReadyByTime
        index, whose key (readyAt, the lease's end once leased) leaves leased items out of the read."""
        answer = self.table.query(
            IndexName=READY_INDEX,
            KeyConditionExpression=Key("pk").eq(waiting_pk(developer_id, session_id)) & Key("readyAt").lte(now_ms),
            Limit=limit,
        )
        found = [Waiting.from_item(item) for item in answer.get("Items", [])]
        return sorted(found, key=lambda waiting: waiting.delivery_id)[:limit]

    def ready_format_1(self, developer_id: str, session_id: str, now_ms: int, limit: int) -> list[Waiting]:
        """Deliveries written before the index (no readyAt): only a session opened before it has any."""
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(waiting_pk(developer_id, session_id)),
            "FilterExpression": Attr("readyAt").not_exists()
            & (Attr("leaseUntil").not_exists() | Attr("leaseUntil").lt(now_ms)),
            "ConsistentRead": True,
        }
        found: list[Waiting] = []
        while len(found) < limit:
            answer = self.table.query(**query)
            found += [Waiting.from_item(item) for item in answer.get("Items", [])]
            if "LastEvaluatedKey" not in answer:
                break
            query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return found[:limit]

    def lease(self, waiting: Waiting, now_ms: int, until_ms: int) -> bool:
        """Hand one delivery out: only if it still waits and nobody holds it (two CLIs on one session).
        Its readyAt moves to the lease's end, so the index leaves it out until then."""
        return conditional_update(
            self.table,
            Key={"pk": waiting_pk(waiting.developer_id, waiting.session_id), "sk": waiting.delivery_id},
            UpdateExpression="SET leaseUntil = :until, readyAt = :until ADD handedOut :one",
            ConditionExpression="attribute_exists(sk) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)",
            ExpressionAttributeValues={":until": until_ms, ":now": now_ms, ":one": 1},
        )

    # -- concurrent polls: POLLS_PER_SESSION a session, POLLS_PER_DEVELOPER a developer
    def take_poll(self, developer_id: str, session_id: str, token: str, now_ms: int, until_ms: int) -> bool:
        """Hold a session slot and a developer slot for one poll until `until_ms` (a crashed poll's
        slots lapse then). False when either kind is full."""
        session_slots = [f"{POLL_PREFIX}s#{session_id}#{n}" for n in range(POLLS_PER_SESSION)]
        developer_slots = [f"{POLL_PREFIX}d#{n}" for n in range(POLLS_PER_DEVELOPER)]
        held = self._take_one(developer_id, session_slots, token, now_ms, until_ms)
        if held is None:
            return False
        if self._take_one(developer_id, developer_slots, token, now_ms, until_ms) is None:
            self._free(developer_id, held, token)
            return False
        return True

    def _take_one(self, developer_id: str, slots: list[str], token: str, now_ms: int, until_ms: int) -> str | None:
        for sk in slots:
            try:
                self.table.put_item(
                    Item={
                        "pk": developer_id,
                        "sk": sk,
                        "token": token,
                        "untilMs": until_ms,
                        "expiresAt": until_ms // 1000 + 60,
                    },
                    ConditionExpression="attribute_not_exists(sk) OR untilMs < :now",
                    ExpressionAttributeValues={":now": now_ms},
                )
            except ClientError as error:
                if conditional_check_failed(error):
                    continue
                raise
            return sk
        return None

    def _free(self, developer_id: str, sk: str, token: str) -> None:
        try:
            self.table.delete_item(
                Key={"pk": developer_id, "sk": sk},
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={":token": token},
            )
        except ClientError as error:
            if not conditional_check_failed(error):
                raise

    def release_poll(self, developer_id: str, session_id: str, token: str) -> None:
        """Give back whatever slots this poll holds (only its own: the token is checked)."""
        for sk in self._poll_slots(developer_id):
            if sk["token"] == token:
                self._free(developer_id, str(sk["sk"]), token)

    def _poll_slots(self, developer_id: str) -> list[dict[str, Any]]:
        answer = self.table.query(
            KeyConditionExpression=Key("pk").eq(developer_id) & Key("sk").begins_with(POLL_PREFIX), ConsistentRead=True
        )
        return list(answer.get("Items", []))

    def next_free_poll_ms(self, developer_id: str, now_ms: int) -> int:
        """When the earliest held slot lapses at the latest (the Retry-After of a refused poll)."""
        held = [int(item["untilMs"]) for item in self._poll_slots(developer_id) if int(item["untilMs"]) >= now_ms]
        return min(held) if held else now_ms

    # -- each session keeps the records of its last LISTEN_KEPT deliveries
    def keep_in_ring(self, developer_id: str, session_id: str, delivery_id: str, *, expires_at: int) -> str | None:
        """Remember the newest delivery record; delete and return the one it pushed out, if any."""
        key = {"pk": developer_id, "sk": f"ring#{session_id}"}
        evicted = push_to_ring(self.table, key, delivery_id, size=LISTEN_KEPT, expires_at=expires_at)
        if evicted:
            self.deliveries.delete_item(
                Key={"webhookKey": webhook_key(developer_id, session_id), "deliveryId": evicted}
            )
        return evicted

    def complete(self, developer_id: str, session_id: str, delivery_id: str, attempt: Attempt) -> bool:
        """Record the forwarded answer as the delivery's attempt and stop it waiting, together.
        False when it no longer waits (already answered, or never in this session)."""
        succeeded = attempt.status is not None and 200 <= attempt.status < 300
        # A forward is one attempt: a failed one is history (the developer triggers again), never retried.
        status = DeliveryStatus.SUCCEEDED if succeeded else DeliveryStatus.FAILED
        sets = [
            "#status = :status",
            "#attempt = if_not_exists(#attempt, :zero) + :one",
            "attempts = list_append(if_not_exists(attempts, :none), :entry)",
            "lastAttemptAt = :at",
        ]
        removes = ["leaseUntil", "failedKey"]
        values: dict[str, Any] = {
            ":status": status.value,
            ":zero": 0,
            ":one": 1,
            ":none": [],
            ":entry": [attempt.to_item()],
            ":at": attempt.attempted_at,
        }
        for name, value in (("lastStatus", attempt.status), ("lastError", attempt.error)):
            if value is None:
                removes.append(name)
            else:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = value
        client = self.table.meta.client
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self.table.name,
                            "Key": {"pk": waiting_pk(developer_id, session_id), "sk": delivery_id},
                            "ConditionExpression": "attribute_exists(sk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.deliveries.name,
                            "Key": {"webhookKey": webhook_key(developer_id, session_id), "deliveryId": delivery_id},
                            "UpdateExpression": "SET " + ", ".join(sets) + " REMOVE " + ", ".join(removes),
                            "ConditionExpression": "attribute_exists(deliveryId)",
                            "ExpressionAttributeNames": {"#status": "status", "#attempt": "attempt"},
                            "ExpressionAttributeValues": values,
                        }
                    },
                ]
            )
        except ClientError as error:
            if _cancelled(error):
                return False
            raise
        return True
