"""Erasure of one subject (a person: "user:42"), for an operator answering a request to erase
(GDPR Art. 17): every payload and receiver's answer the stack keeps of the events that named the
subject (`detail.subjects`), found through the subject index (events_core.records.subjects), never
by a Scan.

Per developer (one, or every developer the index says used the subject):
1. the index entries of (developer, subject): one paginated Query; entries already marked erased
   are done (a second run finds nothing to remove);
2. the event's stored payload (PayloadsTable): read by key, deleted in batches;
3. its delivery records (DeliveriesTable; keys computed from the webhooks the entry names, and the
   listen sessions' partitions, which a session's ring keeps short): payload and reference removed,
   every attempt's response excerpt emptied, marked `erased` and `expunged` (the record stays, so
   history shows the delivery happened; it can never be sent again); written back in batches;
4. its deliveries waiting in listen sessions (ListenTable): deleted;
5. the entries marked `erasedAt` (after their data, so an interrupted run is simply run again).
Then the dead-letter and fault queues are drained once: a message of an erased event (a delivery
message naming it, inline or by reference, or the event itself carrying the subject) is deleted,
every other message is made visible again as it was. A record whose delivery is being attempted at
that moment (its lease held) is left and counted `inFlight`: run again once it settles.

The receipt (JSON) says what was removed per store and when, the stores that hold data only until
they expire (the queues in transit and the log groups, with each ceiling), and a digest of the
erased events' ids; `verify` recomputes the digest from the index and reads every store again.
The subject itself is never printed: the receipt and the index name it by its hash.
"""

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from boto3.dynamodb.conditions import Key

from events_core.clock import iso_ms, now_ms
from events_core.config import Settings
from events_core.data_map import FUNCTION_LOGS, LOG_GROUPS, QUEUES
from events_core.lifecycle import walk
from events_core.listen.model import waiting_pk
from events_core.records.message import delivery_id
from events_core.records.model import webhook_key
from events_core.records.subjects import Entry, SubjectIndex, subject_hash
from eventsapi.admin.target import Target

RECEIPT_FORMAT = "eventsapi-erasure/1"
DRAINED = ("EventsDeadLetterQueue", "DeliveryDeadLetterQueue", "EventsFaultQueue", "DeliveryFaultQueue")
DRAIN_VISIBILITY_SECONDS = 900  # a drained message stays hidden this long if the run dies mid-way
UNPROCESSED_RETRIES = 8
GET_CHUNK = 100  # BatchGetItem's limit

Counts = dict[str, Counter[str]]


class Erasure:
    def _receive(self, sqs: Any, url: str) -> list[dict[str, Any]]:
        """One receive of a queue being drained: its messages hidden while the drain lasts."""
        return sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=DRAIN_VISIBILITY_SECONDS,
            WaitTimeSeconds=1 if self.target.deployed else 0,
            MessageAttributeNames=["All"],
        ).get("Messages", [])

    def __init__(self, target: Target, config: Settings | None = None, clock: Callable[[], int] = now_ms):
        self.target, self.config, self.clock = target, config or Settings.from_env(), clock
        self.resource = target.session.resource("dynamodb", endpoint_url=target.endpoint_url)
        self.deliveries = target.table("DeliveriesTableName")
        self.payloads = target.table("PayloadsTableName")
        self.listen = target.table("ListenTableName")
        self.index = SubjectIndex(self.deliveries)

    # -- erase
    def erase(self, subject: str, developers: list[str] | None) -> dict[str, Any]:
        """Erase `subject` for those developers (None: every developer that used it); the receipt."""
        hashed = subject_hash(subject)
        chosen = sorted(set(developers if developers is not None else self.index.developers(hashed)))
        at = self.clock()
        stamp = iso_ms(at)
        counts: Counts = {}
        in_flight = 0
        erased_ids: dict[str, set[str]] = {}
        done: dict[str, list[str]] = {}  # per developer, the events erased by now (the digest's)
        for developer in chosen:
            entries = list(self.index.entries(developer, hashed))
            erased_ids[developer] = {entry.event_id for entry in entries}
            todo = [entry for entry in entries if not entry.erased_at]
            done[developer] = sorted(entry.event_id for entry in entries if entry.erased_at)
            if not todo:
                continue
            busy = self._erase_developer(developer, todo, counts, at)
            in_flight += len(busy)
            finished = [entry for entry in todo if entry.event_id not in busy]  # the others: the next run's
            with self.deliveries.batch_writer() as batch:
                for entry in finished:
                    batch.put_item(Item=replace(entry, erased_at=stamp).to_item())
            if finished:
                counts.setdefault("DeliveriesTable", Counter())["subject index entries marked erased"] += len(finished)
            done[developer] = sorted([*done[developer], *(entry.event_id for entry in finished)])
        for logical_id in DRAINED:
            removed = self._drain(logical_id, _matcher(subject, erased_ids, all_developers=developers is None))
            if removed:
                counts.setdefault(logical_id, Counter())["messages removed"] += removed
        return self._receipt(hashed, chosen, developers is None, stamp, counts, in_flight, done)

    def _erase_developer(self, developer: str, todo: list[Entry], counts: Counts, at: int) -> set[str]:
        """Erase these entries' data; the ids of events with a delivery being attempted (left)."""
        ids = {entry.event_id for entry in todo}
        found = self._batch_get(
            self.payloads, [{"developerId": developer, "eventId": event_id} for event_id in ids], "eventId"
        )
        with self.payloads.batch_writer() as batch:
            for item in found:
                batch.delete_item(Key={"developerId": developer, "eventId": item["eventId"]})
        if found:
            counts.setdefault("PayloadsTable", Counter())["payloads"] += len(found)
        keys = [
            {"webhookKey": webhook_key(developer, webhook), "deliveryId": delivery_id(e.event_id, webhook, e.event_ms)}
            for e in todo
            for webhook in e.webhooks
        ]
        if any(entry.listening for entry in todo):
            keys += self._erase_listening(developer, ids, counts)
        return self._erase_records(keys, counts, at)

    def _erase_listening(self, developer: str, ids: set[str], counts: Counts) -> list[dict[str, str]]:
        """Deletes the deliveries waiting in the developer's sessions; the keys of their records."""
        scope = walk.scope_of(developer, lambda store: self.target.table(str(store.output)), self.config)
        keys: list[dict[str, str]] = []
        for session in scope.sessions:
            waiting = _pages(self.listen, KeyConditionExpression=Key("pk").eq(waiting_pk(developer, session)))
            named = [item for item in waiting if _names(item, ids)]
            with self.listen.batch_writer() as batch:
                for item in named:
                    batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
            if named:
                counts.setdefault("ListenTable", Counter())["waiting deliveries"] += len(named)
            records = _pages(
                self.deliveries,
                KeyConditionExpression=Key("webhookKey").eq(webhook_key(developer, session)),
                ProjectionExpression="webhookKey, deliveryId, eventId, payloadRef",
            )
            keys += [{"webhookKey": r["webhookKey"], "deliveryId": r["deliveryId"]} for r in records if _names(r, ids)]
        return keys

    def _erase_records(self, keys: list[dict[str, str]], counts: Counts, at: int) -> set[str]:
        in_flight: set[str] = set()
        stripped: list[dict[str, Any]] = []
        tally = counts.setdefault("DeliveriesTable", Counter())
        for item in self._batch_get(self.deliveries, keys):
            payload = "payload" in item or "payloadRef" in item
            answers = sum(1 for attempt in item.get("attempts") or [] if attempt.get("excerpt"))
            if item.get("erased") and not payload and not answers:
                continue  # erased before
            if int(item.get("leaseUntil", 0)) >= at:
                in_flight.add(str(item.get("eventId")))  # its worker would write it back: the next run's
                continue
            item.pop("payload", None)
            item.pop("payloadRef", None)
            item["attempts"] = [{**attempt, "excerpt": ""} for attempt in item.get("attempts") or []]
            item["erased"] = item["expunged"] = True
            stripped.append(item)
            tally["payloads"] += payload
            tally["answers"] += answers
            tally["records marked erased"] += 1
        with self.deliveries.batch_writer() as batch:
            for item in stripped:
                batch.put_item(Item=item)
        return in_flight

    def _drain(self, logical_id: str, erased: Callable[[dict[str, Any]], bool]) -> int:
        """Receive every message once; delete the erased ones; make the others visible again."""
        url = self.target.outputs.get(f"{logical_id}Url")
        if not url:
            return 0
        sqs = self.target.client("sqs")
        seen: set[str] = set()
        kept: list[dict[str, Any]] = []
        removed = empty = 0
        while empty < 2:
            messages = self._receive(sqs, url)
            fresh = [m for m in messages if m["MessageId"] not in seen]
            empty = 0 if fresh else empty + 1
            for message in fresh:
                seen.add(message["MessageId"])
                if erased(message):
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                    removed += 1
                else:
                    kept.append(message)
        _show_again(sqs, url, kept)
        return removed

    def _batch_get(self, table: Any, keys: list[dict[str, str]], projection: str | None = None) -> list[dict]:
        found: list[dict[str, Any]] = []
        unique = list({json.dumps(key, sort_keys=True): key for key in keys}.values())
        for start in range(0, len(unique), GET_CHUNK):
            request: dict[str, Any] = {"Keys": unique[start : start + GET_CHUNK], "ConsistentRead": True}
            if projection:
                names = [name.strip() for name in projection.split(",")]
                request["ProjectionExpression"] = ", ".join(f"#p{n}" for n in range(len(names)))
                request["ExpressionAttributeNames"] = {f"#p{n}": name for n, name in enumerate(names)}
            pending: dict[str, Any] = {table.name: request}
            for retry in range(UNPROCESSED_RETRIES + 1):
                if retry:
                    time.sleep(min(2.0, 0.05 * 2**retry))
                answer = self.resource.batch_get_item(RequestItems=pending)
                found += answer.get("Responses", {}).get(table.name, [])
                pending = answer.get("UnprocessedKeys") or {}
                if not pending:
                    break
            else:
                raise RuntimeError(f"{table.name}: some items could not be read (throttled); run again")
        return found

    def _receipt(
        self,
        hashed: str,
        developers: list[str],
        everyone: bool,
        stamp: str,
        counts: Counts,
        in_flight: int,
        erased: dict[str, list[str]],
    ) -> dict[str, Any]:
        return {
            "receipt": RECEIPT_FORMAT,
            "at": stamp,
            "subjectHash": hashed,
            "developers": developers,
            "allDevelopers": everyone,
            "removed": {store: dict(sorted(found.items())) for store, found in sorted(counts.items())},
            "inFlight": in_flight,
            "erasedEvents": sum(len(ids) for ids in erased.values()),
            "untilExpiry": until_expiry(self.config.log_retention_days),
            "digest": digest(hashed, erased),
        }

    def _erased_ids(self, hashed: str, developers: list[str], until: str) -> dict[str, list[str]]:
        return {
            developer: sorted(
                e.event_id for e in self.index.entries(developer, hashed) if e.erased_at and e.erased_at <= until
            )
            for developer in developers
        }

    # -- verify
    def verify(self, receipt: dict[str, Any]) -> list[str]:
        """What the stores hold against the receipt: [] when it holds."""
        if receipt.get("receipt") != RECEIPT_FORMAT:
            return [f"not an erasure receipt of format {RECEIPT_FORMAT}"]
        hashed, developers, stamp = receipt["subjectHash"], list(receipt["developers"]), receipt["at"]
        problems: list[str] = []
        erased = self._erased_ids(hashed, developers, stamp)
        if digest(hashed, erased) != receipt.get("digest"):
            problems.append("the digest differs: the index does not list the events this receipt erased")
        for developer in developers:
            entries = [e for e in self.index.entries(developer, hashed) if e.erased_at and e.erased_at <= stamp]
            ids = {entry.event_id for entry in entries}
            keys = [{"developerId": developer, "eventId": event_id} for event_id in ids]
            if kept := self._batch_get(self.payloads, keys, "eventId"):
                problems.append(f"{developer}: {len(kept)} payload(s) still in PayloadsTable")
            record_keys = [
                {"webhookKey": webhook_key(developer, w), "deliveryId": delivery_id(e.event_id, w, e.event_ms)}
                for e in entries
                for w in e.webhooks
            ]
            for item in self._batch_get(self.deliveries, record_keys):
                if not _clean(item):
                    problems.append(f"{developer}: delivery {item['deliveryId']} still holds a payload or answer")
            if any(entry.listening for entry in entries):
                problems += self._listening_problems(developer, ids)
        erased_sets = {developer: set(ids) for developer, ids in erased.items()}
        match = _matcher(None, erased_sets, all_developers=False)
        for logical_id in DRAINED:
            held = sum(1 for message in self._peek(logical_id) if match(message))
            if held:
                problems.append(f"{logical_id}: {held} message(s) of erased events")
        return problems

    def _listening_problems(self, developer: str, ids: set[str]) -> list[str]:
        problems: list[str] = []
        scope = walk.scope_of(developer, lambda store: self.target.table(str(store.output)), self.config)
        for session in scope.sessions:
            waiting = _pages(self.listen, KeyConditionExpression=Key("pk").eq(waiting_pk(developer, session)))
            if named := [item for item in waiting if _names(item, ids)]:
                problems.append(f"{developer}: {len(named)} delivery(ies) still waiting in {session}")
            records = _pages(
                self.deliveries, KeyConditionExpression=Key("webhookKey").eq(webhook_key(developer, session))
            )
            problems += [
                f"{developer}: delivery {r['deliveryId']} still holds a payload or answer"
                for r in records
                if _names(r, ids) and not _clean(r)
            ]
        return problems

    def _peek(self, logical_id: str) -> list[dict[str, Any]]:
        """Every message, each hidden until all are read, then shown again (a look, not a take)."""
        url = self.target.outputs.get(f"{logical_id}Url")
        if not url:
            return []
        sqs = self.target.client("sqs")
        received: list[dict[str, Any]] = []
        empty = 0
        while empty < 2:
            messages = self._receive(sqs, url)
            empty = 0 if messages else empty + 1
            received += messages
        _show_again(sqs, url, received)
        return received


def digest(hashed: str, erased: dict[str, list[str]]) -> str:
    """SHA-256 over the subject's hash and, per developer, the sorted ids of the events erased."""
    text = json.dumps({"subjectHash": hashed, "events": {d: sorted(ids) for d, ids in sorted(erased.items())}})
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def until_expiry(log_retention_days: int) -> list[dict[str, str]]:
    """What erasure cannot search (queues in transit, log groups): held only until each ceiling."""
    return [
        {
            "store": store.logical_id,
            "kind": store.kind,
            "holds": store.holds,
            "ceiling": store.ceiling(log_retention_days),
        }
        for store in (*QUEUES, *LOG_GROUPS, FUNCTION_LOGS)
        if store.logical_id not in DRAINED
    ]


def _show_again(sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
    for start in range(0, len(messages), 10):
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for n, m in enumerate(messages[start : start + 10])
            ],
        )


def _pages(table: Any, **query: Any) -> Iterator[dict[str, Any]]:
    while True:
        page = table.query(**query)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _names(item: dict[str, Any], ids: set[str]) -> bool:
    return item.get("eventId") in ids or item.get("payloadRef") in ids


def _clean(item: dict[str, Any]) -> bool:
    return (
        bool(item.get("erased"))
        and "payload" not in item
        and "payloadRef" not in item
        and not any(attempt.get("excerpt") for attempt in item.get("attempts") or [])
    )


def _matcher(
    subject: str | None, erased: dict[str, set[str]], *, all_developers: bool
) -> Callable[[dict[str, Any]], bool]:
    """Whether a queued message belongs to an erased event: a delivery message naming it (inline or
    by reference), or the event itself (its id, or — the events queues — the subject among its
    `detail.subjects`, an event the fan-out never indexed)."""

    def erased_message(message: dict[str, Any]) -> bool:
        try:
            body = json.loads(message["Body"])
        except ValueError:
            return False
        if not isinstance(body, dict):
            return False
        found = body.get("detail")
        detail: dict[str, Any] = found if isinstance(found, dict) else {}
        developer = body.get("developer_id") or detail.get("developerId")
        if not isinstance(developer, str) or not (all_developers or developer in erased):
            return False
        named = {body.get("event_id"), body.get("payload_ref"), body.get("id")} & erased.get(developer, set())
        subjects = detail.get("subjects")
        return bool(named) or (subject is not None and isinstance(subjects, list) and subject in subjects)

    return erased_message


def read_receipt(text: str) -> dict[str, Any]:
    found = json.loads(text)
    if not isinstance(found, dict):
        raise ValueError("a receipt is a JSON object")
    return found
