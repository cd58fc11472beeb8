"""The subject index: what the fan-out stored for an event that names the people it concerns
(`detail.subjects`), found by (developer, subject), so an operator's erasure (`eventsapi erase`)
reaches it without a Scan.

Sparse: an event without subjects writes nothing here. For one with subjects, the fan-out stores
its payload by reference (events_core.records.payloads: one item, whatever its size) and, before
that payload and before any message, one entry per subject in the deliveries table:

- partition `developer#~subjects`, sort key `<subject hash>#<event id>`: the event's id and time
  and the webhooks it went to (so its delivery records' keys are computed: records.message.delivery_id),
  and whether the developer's listen sessions were asked to take it. Its lifetime is the payload's.
- partition `~subject#<subject hash>`, sort key the developer: which developers have used that
  subject at all (for an erasure across developers), written at most once a day per environment
  and living a day longer than the entries written since.

A subject is kept only as its hash (SHA-256, 32 hex): the index names no one in clear. An erasure
marks each entry it finished `erasedAt`: a second run finds nothing left to remove, and a receipt's
digest is checked against the marked entries.
"""

import hashlib
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Key

from events_core.aws import LazyTable, conditional_update, per_environment
from events_core.records.ledger import RETRY_SPAN_SECONDS

INDEX_SUFFIX = "#~subjects"
WHO_PREFIX = "~subject#"
WHO_REMEMBERED_SECONDS = 86400  # an environment rewrites a (developer, subject) item at least this often
WHO_MARGIN_SECONDS = 2 * 86400  # so the item outlives every entry written while it was remembered
_MAX_REMEMBERED = 10_000


def subject_hash(subject: str) -> str:
    return hashlib.sha256(subject.encode()).hexdigest()[:32]


def index_partition(developer_id: str) -> str:
    return f"{developer_id}{INDEX_SUFFIX}"


def who_partition(hashed: str) -> str:
    return f"{WHO_PREFIX}{hashed}"


@dataclass(frozen=True)
class Entry:
    developer_id: str
    subject_hash: str
    event_id: str
    event_ms: int
    webhooks: tuple[str, ...]
    listening: bool
    expires_at: int
    erased_at: str | None = None

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "webhookKey": index_partition(self.developer_id),
            "deliveryId": f"{self.subject_hash}#{self.event_id}",
            "developerId": self.developer_id,
            "eventId": self.event_id,
            "eventMs": self.event_ms,
            "webhooks": list(self.webhooks),
            "listening": self.listening,
            "expiresAt": self.expires_at,
        }
        if self.erased_at:
            item["erasedAt"] = self.erased_at
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> "Entry":
        return cls(
            developer_id=str(item["developerId"]),
            subject_hash=str(item["deliveryId"]).partition("#")[0],
            event_id=str(item["eventId"]),
            event_ms=int(item["eventMs"]),
            webhooks=tuple(str(webhook) for webhook in item.get("webhooks") or ()),
            listening=bool(item.get("listening", False)),
            expires_at=int(item.get("expiresAt", 0)),
            erased_at=item.get("erasedAt"),
        )


class SubjectIndex:
    table = LazyTable("deliveries_table")

    def __init__(self, table: Any = None):
        if table is not None:
            self.table = table

    def record(
        self,
        developer_id: str,
        event_id: str,
        event_ms: int,
        subjects: Iterable[str],
        *,
        webhooks: Iterable[str],
        listening: bool,
        expires_at: int,
    ) -> None:
        """The fan-out's entries for one event (idempotent: a re-run writes the same items).
        `expires_at`: the records' expiry; entries live as long as the payload (plus the retry span)."""
        until = expires_at + RETRY_SPAN_SECONDS
        for subject in subjects:
            hashed = subject_hash(subject)
            entry = Entry(developer_id, hashed, event_id, event_ms, tuple(webhooks), listening, until)
            self.table.put_item(Item=entry.to_item())
            if _remember(developer_id, hashed):
                self.table.put_item(
                    Item={
                        "webhookKey": who_partition(hashed),
                        "deliveryId": developer_id,
                        "developerId": developer_id,
                        "expiresAt": until + WHO_MARGIN_SECONDS,
                    }
                )

    def extend(self, developer_id: str, event_id: str, hashes: Iterable[str], until: int) -> None:
        """Keep the event's entries (and who-used items) until `until`: its payload was kept longer."""
        for hashed in hashes:
            for key, at_least in (
                ({"webhookKey": index_partition(developer_id), "deliveryId": f"{hashed}#{event_id}"}, until),
                ({"webhookKey": who_partition(hashed), "deliveryId": developer_id}, until + WHO_MARGIN_SECONDS),
            ):
                conditional_update(
                    self.table,
                    Key=key,
                    UpdateExpression="SET expiresAt = :until",
                    ConditionExpression="attribute_exists(deliveryId) AND expiresAt < :until",
                    ExpressionAttributeValues={":until": at_least},
                )

    def entries(self, developer_id: str, hashed: str) -> Iterator[Entry]:
        """Every entry of (developer, subject), erased or not: one paginated Query."""
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("webhookKey").eq(index_partition(developer_id))
            & Key("deliveryId").begins_with(f"{hashed}#"),
            "ConsistentRead": True,
        }
        while True:
            page = self.table.query(**query)
            for item in page.get("Items", []):
                if item.get("developerId") == developer_id:  # another developer's id may look like a partition
                    yield Entry.from_item(item)
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def who_keys(self, developer_id: str) -> list[dict[str, str]]:
        """The keys of the developer's "who used this subject" items, found through their entries
        (off-boarding and export read them before the entries go)."""
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("webhookKey").eq(index_partition(developer_id)),
            "ProjectionExpression": "deliveryId, developerId",
        }
        hashes: dict[str, None] = {}
        while True:
            page = self.table.query(**query)
            for item in page.get("Items", []):
                if item.get("developerId") == developer_id:
                    hashes[str(item["deliveryId"]).partition("#")[0]] = None
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [{"webhookKey": who_partition(hashed), "deliveryId": developer_id} for hashed in hashes]

    def developers(self, hashed: str) -> list[str]:
        """The developers who have used this subject (an erasure across developers)."""
        query: dict[str, Any] = {"KeyConditionExpression": Key("webhookKey").eq(who_partition(hashed))}
        found: list[str] = []
        while True:
            page = self.table.query(**query)
            found += [str(item["deliveryId"]) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return found
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


_lock = threading.Lock()


@per_environment
def _remembered() -> dict[tuple[str, str], float]:
    """The (developer, subject) items this environment wrote, until when (aws.reset forgets them)."""
    return {}


def _remember(developer_id: str, hashed: str) -> bool:
    """True when this environment has not written the (developer, subject) item for a day."""
    now = time.monotonic()
    remembered = _remembered()
    with _lock:
        if remembered.get((developer_id, hashed), 0.0) > now:
            return False
        if len(remembered) >= _MAX_REMEMBERED:
            remembered.clear()
        remembered[(developer_id, hashed)] = now + WHO_REMEMBERED_SECONDS
        return True
