"""The ordering state of ordered webhooks, in the deliveries table beside their delivery records.

One partition per ordered webhook, `webhookKey = "developer#webhook#~order"` (never a delivery
record's partition, so no history page or index ever sees these items), with three item kinds
whose sort key starts with the key's digest (a key is up to 256 characters of any text):

- `k#<digest>`: the key's head — the one delivery in flight or retrying (`head`, `headPos`,
  `until`: when the claim lapses if nobody renews it), `last`: the position of the newest delivery
  the key has started (a later arrival behind it is out of order), `blocked`, a revision `rev`
  that every claim checks (optimistic: two kicks never claim one key), and counters.
- `p#<digest>#<position>`: a delivery waiting in its key's queue, with its message; sorted by
  position, so a Query with Limit 1 is the key's next.
- `b#<digest>`: a blocked key (onFailure `block`): what `GET …/ordering` lists.

Every item carries `developerId` (off-boarding: data_map) and `expiresAt` (LogRetentionDays after
its last write, the records' own retention).
"""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Key

from events_core.aws import LazyTable, conditional_update
from events_core.records.message import DeliveryMessage

PARTITION_SUFFIX = "#~order"


def partition(developer_id: str, webhook_id: str) -> str:
    return f"{developer_id}#{webhook_id}{PARTITION_SUFFIX}"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class KeyState:
    head: str | None = None
    head_pos: str | None = None
    until_ms: int = 0
    last: str | None = None
    blocked: bool = False
    rev: int = 0
    failing: bool = False

    @classmethod
    def from_item(cls, item: dict[str, Any] | None) -> "KeyState":
        if not item:
            return cls()
        return cls(
            head=item.get("head"),
            head_pos=item.get("headPos"),
            until_ms=int(item.get("until", 0)),
            last=item.get("last"),
            blocked=bool(item.get("blocked", False)),
            rev=int(item.get("rev", 0)),
            failing=bool(item.get("failing", False)),
        )


@dataclass(frozen=True)
class Waiting:
    position: str
    message: DeliveryMessage

    @property
    def delivery_id(self) -> str:
        return self.message.delivery_id


@dataclass(frozen=True)
class Blocked:
    key: str
    head: str
    since: str
    reason: str


class OrderingStore:
    table = LazyTable("deliveries_table")

    def __init__(self, table: Any = None):
        if table is not None:
            self.table = table

    @staticmethod
    def _key(developer_id: str, webhook_id: str, sort: str) -> dict[str, str]:
        return {"webhookKey": partition(developer_id, webhook_id), "deliveryId": sort}

    def state(self, developer_id: str, webhook_id: str, key_digest: str) -> KeyState:
        answer = self.table.get_item(Key=self._key(developer_id, webhook_id, f"k#{key_digest}"), ConsistentRead=True)
        return KeyState.from_item(answer.get("Item"))

    def register(self, message: DeliveryMessage, key_digest: str, position: str, expires_at: int) -> None:
        """The delivery waits in its key's queue (written again by a duplicate: the same item)."""
        self.table.put_item(
            Item={
                **self._key(message.developer_id, message.webhook_id, f"p#{key_digest}#{position}"),
                "developerId": message.developer_id,
                "message": message.to_json(),
                "expiresAt": expires_at,
            }
        )

    def waiting(self, developer_id: str, webhook_id: str, key_digest: str, *, limit: int = 1) -> list[Waiting]:
        """The key's next deliveries, in order."""
        answer = self.table.query(
            KeyConditionExpression=Key("webhookKey").eq(partition(developer_id, webhook_id))
            & Key("deliveryId").begins_with(f"p#{key_digest}#"),
            ConsistentRead=True,
            Limit=limit,
        )
        prefix = len(f"p#{key_digest}#")
        return [
            Waiting(item["deliveryId"][prefix:], DeliveryMessage.from_json(item["message"]))
            for item in answer.get("Items", [])
        ]

    def claim(
        self,
        developer_id: str,
        webhook_id: str,
        key_digest: str,
        *,
        key: str,
        seen: KeyState,
        head: Waiting,
        until_ms: int,
        expires_at: int,
    ) -> bool:
        """The key's head becomes `head`, if the key is as `seen` (its revision): one in flight per key."""
        last = head.position if seen.last is None or head.position > seen.last else seen.last
        return conditional_update(
            self.table,
            Key=self._key(developer_id, webhook_id, f"k#{key_digest}"),
            UpdateExpression=(
                "SET head = :head, headPos = :pos, #until = :until, #last = :last, rev = :next,"
                " developerId = :developer, #key = :key, expiresAt = :expires REMOVE failing"
            ),
            ConditionExpression="attribute_not_exists(rev) OR rev = :rev",
            ExpressionAttributeNames={"#until": "until", "#last": "last", "#key": "key"},
            ExpressionAttributeValues={
                ":head": head.delivery_id,
                ":pos": head.position,
                ":until": until_ms,
                ":last": last,
                ":rev": seen.rev,
                ":next": seen.rev + 1,
                ":developer": developer_id,
                ":key": key,
                ":expires": expires_at,
            },
        )

    def extend(
        self, developer_id: str, webhook_id: str, key_digest: str, head: str, until_ms: int, *, failing: bool
    ) -> bool:
        """The head stays the head until `until_ms` (retrying, held by the circuit, throttled)."""
        return conditional_update(
            self.table,
            Key=self._key(developer_id, webhook_id, f"k#{key_digest}"),
            UpdateExpression="SET #until = :until" + (", failing = :true" if failing else " REMOVE failing"),
            ConditionExpression="head = :head",
            ExpressionAttributeNames={"#until": "until"},
            ExpressionAttributeValues={":until": until_ms, ":head": head, **({":true": True} if failing else {})},
        )

    def finish(self, developer_id: str, webhook_id: str, key_digest: str, head: str, head_pos: str) -> bool:
        """The head is done (delivered, or dead and skipped): out of the queue, the key free."""
        self.table.delete_item(Key=self._key(developer_id, webhook_id, f"p#{key_digest}#{head_pos}"))
        return conditional_update(
            self.table,
            Key=self._key(developer_id, webhook_id, f"k#{key_digest}"),
            UpdateExpression="REMOVE head, headPos, #until, failing, blocked SET rev = rev + :one",
            ConditionExpression="head = :head",
            ExpressionAttributeNames={"#until": "until"},
            ExpressionAttributeValues={":head": head, ":one": 1},
        )

    def block(
        self,
        developer_id: str,
        webhook_id: str,
        key_digest: str,
        *,
        key: str,
        head: str,
        at: str,
        reason: str,
        expires_at: int,
    ) -> bool:
        """The head ran out of attempts under `block`: the key waits for its developer."""
        self.table.put_item(
            Item={
                **self._key(developer_id, webhook_id, f"b#{key_digest}"),
                "developerId": developer_id,
                "key": key,
                "head": head,
                "since": at,
                "reason": reason[:1024],
                "expiresAt": expires_at,
            }
        )
        return conditional_update(
            self.table,
            Key=self._key(developer_id, webhook_id, f"k#{key_digest}"),
            UpdateExpression="SET blocked = :true, rev = rev + :one REMOVE #until, failing",
            ConditionExpression="head = :head",
            ExpressionAttributeNames={"#until": "until"},
            ExpressionAttributeValues={":head": head, ":true": True, ":one": 1},
        )

    def unblock(self, developer_id: str, webhook_id: str, key_digest: str, head: str, *, until_ms: int) -> bool:
        """The blocked head is redelivered: it is the key's head again, in flight."""
        done = conditional_update(
            self.table,
            Key=self._key(developer_id, webhook_id, f"k#{key_digest}"),
            UpdateExpression="SET #until = :until, rev = rev + :one REMOVE blocked",
            ConditionExpression="head = :head AND blocked = :true",
            ExpressionAttributeNames={"#until": "until"},
            ExpressionAttributeValues={":head": head, ":true": True, ":one": 1, ":until": until_ms},
        )
        if done:
            self.table.delete_item(Key=self._key(developer_id, webhook_id, f"b#{key_digest}"))
        return done

    def skip(self, developer_id: str, webhook_id: str, key_digest: str) -> str | None:
        """Release a blocked key: its dead head leaves the queue. The head's delivery id, or None
        when the key is not blocked."""
        state = self.state(developer_id, webhook_id, key_digest)
        if not state.blocked or state.head is None:
            return None
        if state.head_pos is not None:
            self.table.delete_item(Key=self._key(developer_id, webhook_id, f"p#{key_digest}#{state.head_pos}"))
        released = conditional_update(
            self.table,
            Key=self._key(developer_id, webhook_id, f"k#{key_digest}"),
            UpdateExpression="REMOVE head, headPos, #until, failing, blocked SET rev = rev + :one",
            ConditionExpression="head = :head AND blocked = :true",
            ExpressionAttributeNames={"#until": "until"},
            ExpressionAttributeValues={":head": state.head, ":true": True, ":one": 1},
        )
        self.table.delete_item(Key=self._key(developer_id, webhook_id, f"b#{key_digest}"))
        return state.head if released else None

    def count_out_of_order(self, developer_id: str, webhook_id: str, key_digest: str, expires_at: int) -> None:
        self.table.update_item(
            Key=self._key(developer_id, webhook_id, f"k#{key_digest}"),
            UpdateExpression="ADD outOfOrder :one SET developerId = :developer, expiresAt = :expires",
            ExpressionAttributeValues={":one": 1, ":developer": developer_id, ":expires": expires_at},
        )

    def blocked(
        self, developer_id: str, webhook_id: str, *, limit: int, after: str | None = None
    ) -> tuple[list[Blocked], str | None]:
        """The webhook's blocked keys (a page), and the last sort key read when more may follow."""
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("webhookKey").eq(partition(developer_id, webhook_id))
            & Key("deliveryId").begins_with("b#"),
            "Limit": limit,
        }
        if after is not None:
            query["ExclusiveStartKey"] = self._key(developer_id, webhook_id, after)
        answer = self.table.query(**query)
        last = answer.get("LastEvaluatedKey")
        found = [
            Blocked(item["key"], item["head"], item.get("since", ""), item.get("reason", ""))
            for item in answer.get("Items", [])
        ]
        return found, last["deliveryId"] if last else None

    def items(self, developer_id: str, webhook_id: str) -> Iterator[dict[str, Any]]:
        """Every item of the webhook's partition (tests and tools)."""
        query: dict[str, Any] = {"KeyConditionExpression": Key("webhookKey").eq(partition(developer_id, webhook_id))}
        while True:
            answer = self.table.query(**query)
            yield from answer.get("Items", [])
            if "LastEvaluatedKey" not in answer:
                return
            query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
