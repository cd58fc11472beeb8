"""Idempotent publishing: events published with the same `detail.idempotencyKey` by (for) the same
developer within WINDOW_SECONDS are one event.

The first such event claims the key with one conditional write, pinning its EventBridge id and
time. A later event with the key (a producer's retried PutEvents: a new EventBridge id and time)
takes the pinned id and time, so fan-out makes the very same delivery ids — the same
`X-Webhook-Id` — and the delivery records' lease posts each once. Fanning out the first event
again after a crash finds its own claim and does the same. The same key with different data is
a conflict: that event rests in the events dead-letter queue, and the first one stands.

Claims are items of their own table (IdempotencyTable: retained, TTL on expiresAt), keyed by a
hash of developer and key (a key may carry business ids; it is never stored or logged). DynamoDB
deletes expired items when it gets to it, so the condition checks the expiry itself. An event
without a key costs nothing here.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from events_core.aws import LazyTable, conditional_check_failed
from events_core.delivery.envelope import PlatformEvent

WINDOW_SECONDS = 24 * 3600
_DESERIALIZE = TypeDeserializer()


@dataclass(frozen=True)
class Claim:
    first: bool  # this event made the claim
    event_id: str  # the first event's
    timestamp_ms: int  # the first event's
    data_hash: str  # the first event's


def data_hash(data: Any) -> str:
    """Of the data's content, whatever the order of its keys or its spacing."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def claim_key(developer_id: str, idempotency_key: str) -> dict[str, str]:
    digest = hashlib.sha256(f"{developer_id}\n{idempotency_key}".encode("utf-8", "surrogatepass")).hexdigest()
    return {"claimKey": digest}


class ClaimStore:
    table = LazyTable("idempotency_table")

    def __init__(self, table: Any = None):
        if table is not None:
            self.table = table

    def claim(self, event: PlatformEvent, *, now_ms: int) -> Claim:
        """Claim the event's key, or learn who holds it. One conditional put either way."""
        if event.idempotency_key is None:
            raise ValueError("the event has no idempotency key")
        mine = Claim(True, event.event_id, event.timestamp_ms, data_hash(event.data))
        now = now_ms // 1000
        try:
            self.table.put_item(
                Item={
                    **claim_key(event.developer_id, event.idempotency_key),
                    "developerId": event.developer_id,  # the data map finds a developer's claims by it
                    "eventId": mine.event_id,
                    "timestampMs": mine.timestamp_ms,
                    "dataHash": mine.data_hash,
                    "expiresAt": now + WINDOW_SECONDS,
                },
                ConditionExpression="attribute_not_exists(claimKey) OR expiresAt < :now",
                ExpressionAttributeValues={":now": now},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not conditional_check_failed(error):
                raise
            held = {name: _DESERIALIZE.deserialize(value) for name, value in error.response["Item"].items()}
            return Claim(False, str(held["eventId"]), int(held["timestampMs"]), str(held["dataHash"]))
        return mine
