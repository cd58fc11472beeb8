"""DynamoDB access for webhooks: the one owner of the webhooks table.

Table: developerId (hash) + webhookId (range); sparse index ActiveByEvent on activeKey =
"developer#event", present only while a webhook is enabled. Each developer also has one counter
item (webhookId "~count") that creates and deletes update in the same transaction as the webhook,
so the per-developer cap holds under concurrent creates.
"""

import time
from collections.abc import Iterable, Iterator
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from events_core import event_patterns
from events_core.aws import LazyTable, conditional_check_failed, conditional_update
from events_core.config import settings
from events_core.errors import LimitExceeded, Unavailable
from events_core.records.ledger import ledger_item
from events_core.webhooks import wildcards
from events_core.webhooks.model import CircuitState, DisabledReason, Webhook, active_key

UNPROCESSED_RETRIES = 4

ACTIVE_INDEX = "ActiveByEvent"
COUNTER = "~count"  # sorts after every webhook id (hex), so Queries of webhooks stop before it
_TRANSACTION_TRIES = 4
# Calls through a table's `meta.client` take and give plain Python values: boto3's resource layer
# serialises them (only an error's returned item comes back in DynamoDB's typed form).


def _cancelled_by_condition(error: ClientError, index: int) -> bool:
    reasons = error.response.get("CancellationReasons") or []
    return len(reasons) > index and reasons[index].get("Code") == "ConditionalCheckFailed"


class _Gone(Exception):
    pass


class _OutOfReach(Exception):
    def __init__(self, slot_ms: int):
        super().__init__(slot_ms)
        self.slot_ms = slot_ms


class WebhookRepository:
    table = LazyTable("webhooks_table")
    deliveries = LazyTable("deliveries_table")

    def __init__(self, table: Any = None, deliveries: Any = None):
        if table is not None:
            self.table = table
        if deliveries is not None:
            self.deliveries = deliveries

    def _key(self, developer_id: str, webhook_id: str) -> dict[str, str]:
        return {"developerId": developer_id, "webhookId": webhook_id}

    # -- lifecycle (the API)
    def add(self, webhook: Webhook, cap: int) -> None:
        """Store a new webhook and count it, atomically; LimitExceeded when the developer has `cap`.
        A wildcard webhook also counts under its pattern and puts the pattern's markers."""
        counted, names, values = self._counting(webhook.event, 1)
        self._transact(
            [
                {
                    "Put": {
                        "TableName": self.table.name,
                        "Item": webhook.to_item(),
                        "ConditionExpression": "attribute_not_exists(webhookId)",
                    }
                },
                {
                    "Update": {
                        "TableName": self.table.name,
                        "Key": self._key(webhook.developer_id, COUNTER),
                        "UpdateExpression": f"ADD webhooks :one{counted}",
                        "ConditionExpression": "attribute_not_exists(webhooks) OR webhooks < :cap",
                        "ExpressionAttributeValues": {":one": 1, ":cap": cap, **values},
                        **names,
                    }
                },
                *self._marker_puts(webhook.developer_id, webhook.event),
            ],
            on_condition={1: LimitExceeded(f"a developer may have at most {cap} webhooks; delete one first")},
        )

    # -- wildcard webhooks' markers (events_core.webhooks.wildcards)
    @staticmethod
    def _counting(event: str, step: int) -> tuple[str, dict[str, Any], dict[str, int]]:
        """The counter update's extra clause for a wildcard `event` (its pattern's count moves by
        `step`); nothing for a single type."""
        if not event_patterns.is_pattern(event):
            return "", {}, {}
        return (
            ", #wild :wild_step",
            {"ExpressionAttributeNames": {"#wild": wildcards.count_attribute(event)}},
            {":wild_step": step},
        )

    def _marker_puts(self, developer_id: str, event: str) -> list[dict[str, Any]]:
        if not event_patterns.is_pattern(event):
            return []
        return [
            {"Put": {"TableName": self.table.name, "Item": item}}
            for item in wildcards.marker_items(developer_id, event, active_key)
        ]

    def mark_pattern(self, developer_id: str, pattern: str) -> bool:
        """Put `pattern`'s markers for every type it takes now (an operator's pass after a release
        declares a type), in one transaction conditional on a webhook still taking the pattern, so a
        pattern whose last webhook went meanwhile gets none. True when written."""
        try:
            self.table.meta.client.transact_write_items(
                TransactItems=[
                    {
                        "ConditionCheck": {
                            "TableName": self.table.name,
                            "Key": self._key(developer_id, COUNTER),
                            "ConditionExpression": "#wild > :zero",
                            "ExpressionAttributeNames": {"#wild": wildcards.count_attribute(pattern)},
                            "ExpressionAttributeValues": {":zero": 0},
                        }
                    },
                    *self._marker_puts(developer_id, pattern),
                ]
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            return False
        return True

    def drop_markers_if_unused(self, developer_id: str, event: str) -> bool:
        """Remove a pattern's markers once no webhook takes it: in one transaction conditional on
        its count being 0, so a webhook created meanwhile keeps them. True when removed."""
        if not event_patterns.is_pattern(event):
            return False
        try:
            self.table.meta.client.transact_write_items(
                TransactItems=[
                    {
                        "ConditionCheck": {
                            "TableName": self.table.name,
                            "Key": self._key(developer_id, COUNTER),
                            "ConditionExpression": "attribute_not_exists(#wild) OR #wild <= :zero",
                            "ExpressionAttributeNames": {"#wild": wildcards.count_attribute(event)},
                            "ExpressionAttributeValues": {":zero": 0},
                        }
                    },
                    *(
                        {"Delete": {"TableName": self.table.name, "Key": key}}
                        for key in wildcards.marker_keys(developer_id, event)
                    ),
                ]
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            return False  # still taken (or a concurrent change): a marker too many costs a Query, never a post
        return True

    def delete(self, developer_id: str, webhook_id: str) -> bool:
        """True when it existed (and was this developer's); False otherwise. Its delivery records
        stay for their retention, so its id goes to the partition ledger in the same transaction
        (events_core.records.ledger): off-boarding, export and expunge still find them. A wildcard
        webhook's pattern is uncounted in the same transaction, and its markers go with the last."""
        retired = ledger_item(
            developer_id, webhook_id, now_s=int(time.time()), retention_days=settings().log_retention_days
        )
        for _ in range(_TRANSACTION_TRIES):
            current = self.get(developer_id, webhook_id)
            if current is None:
                return False
            counted, names, values = self._counting(current.event, -1)
            try:
                self._transact(
                    [
                        {
                            "Delete": {
                                "TableName": self.table.name,
                                "Key": self._key(developer_id, webhook_id),
                                # The event read is the one uncounted: a change meanwhile reads again.
                                "ConditionExpression": "attribute_exists(webhookId) AND #event = :event",
                                "ExpressionAttributeNames": {"#event": "event"},
                                "ExpressionAttributeValues": {":event": current.event},
                            }
                        },
                        {
                            "Update": {
                                "TableName": self.table.name,
                                "Key": self._key(developer_id, COUNTER),
                                "UpdateExpression": f"ADD webhooks :minus_one{counted}",
                                "ExpressionAttributeValues": {":minus_one": -1, **values},
                                **names,
                            }
                        },
                        {"Put": {"TableName": self.deliveries.name, "Item": retired}},
                    ],
                    on_condition={0: _Missing()},
                )
            except _Missing:
                continue
            self.drop_markers_if_unused(developer_id, current.event)
            return True
        raise Unavailable("the webhook kept changing while it was deleted; retry")

    def _transact(self, items: list[dict], on_condition: dict[int, Exception]) -> None:
        client = self.table.meta.client
        for _ in range(_TRANSACTION_TRIES):
            try:
                client.transact_write_items(TransactItems=items)
                return
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                for index, refusal in on_condition.items():
                    if _cancelled_by_condition(error, index):
                        raise refusal from None
                # Cancelled by a conflicting transaction (two creates at once): try again.
        raise Unavailable("too many concurrent changes to this developer's webhooks; retry")

    def save_fields(
        self, webhook: Webhook, names: Iterable[str], seen_updated_at: str, *, previous_event: str | None = None
    ) -> bool:
        """Write the named attributes of a changed webhook (absent ones are removed), if nobody
        changed it since it was read. Counters delivery keeps (failCount, lastTriggered) are left
        alone unless named, so a PATCH never loses a concurrent failure count. An `event` moved to
        or from a pattern (`previous_event`: the one read) moves its counts and markers with it,
        in the same transaction."""
        item = webhook.to_item()
        names = sorted(set(names))
        placeholders = {f"#a{n}": name for n, name in enumerate(names)}
        sets = [f"{alias} = :v{alias[2:]}" for alias, name in placeholders.items() if name in item]
        removes = [alias for alias, name in placeholders.items() if name not in item]
        expression = ("SET " + ", ".join(sets) if sets else "") + (" REMOVE " + ", ".join(removes) if removes else "")
        update = {
            "Key": self._key(webhook.developer_id, webhook.webhook_id),
            "UpdateExpression": expression.strip(),
            "ConditionExpression": "attribute_exists(webhookId) AND updatedAt = :seen",
            "ExpressionAttributeNames": placeholders,
            "ExpressionAttributeValues": {
                ":seen": seen_updated_at,
                **{f":v{alias[2:]}": item[name] for alias, name in placeholders.items() if name in item},
            },
        }
        moved = previous_event is not None and previous_event != webhook.event
        if not moved or not (
            event_patterns.is_pattern(previous_event or "") or event_patterns.is_pattern(webhook.event)
        ):
            return conditional_update(self.table, **update)
        old = previous_event or ""
        try:
            self._transact(
                [
                    {"Update": {"TableName": self.table.name, **update}},
                    *self._recount(webhook.developer_id, old, webhook.event),
                    *self._marker_puts(webhook.developer_id, webhook.event),
                ],
                on_condition={0: _Missing()},
            )
        except _Missing:
            return False
        self.drop_markers_if_unused(webhook.developer_id, old)
        return True

    def _recount(self, developer_id: str, old: str, new: str) -> list[dict[str, Any]]:
        steps = {pattern: 0 for pattern in (old, new) if event_patterns.is_pattern(pattern)}
        for pattern, step in ((old, -1), (new, 1)):
            if pattern in steps:
                steps[pattern] += step
        if not steps:
            return []
        aliases = {f"#w{n}": wildcards.count_attribute(pattern) for n, pattern in enumerate(steps)}
        return [
            {
                "Update": {
                    "TableName": self.table.name,
                    "Key": self._key(developer_id, COUNTER),
                    "UpdateExpression": "ADD " + ", ".join(f"{alias} :s{alias[2:]}" for alias in aliases),
                    "ExpressionAttributeNames": aliases,
                    "ExpressionAttributeValues": {f":s{n}": step for n, step in enumerate(steps.values())},
                }
            }
        ]

    # -- reads
    def get(self, developer_id: str, webhook_id: str) -> Webhook | None:
        item = self.table.get_item(Key=self._key(developer_id, webhook_id), ConsistentRead=True).get("Item")
        return Webhook.from_item(item) if item else None

    def get_many(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Webhook]:
        """Several webhooks in one strongly consistent BatchGetItem (keys: (developer, webhook))."""
        distinct = list(dict.fromkeys(keys))
        if len(distinct) == 1:  # the same read; the plain call is the lighter one
            webhook = self.get(*distinct[0])
            return {distinct[0]: webhook} if webhook else {}
        wanted = [self._key(*key) for key in distinct]
        found: dict[tuple[str, str], Webhook] = {}
        client = self.table.meta.client
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {self.table.name: {"Keys": wanted[start : start + 100], "ConsistentRead": True}}
            for retry in range(UNPROCESSED_RETRIES + 1):
                if retry:
                    time.sleep(0.05 * 2**retry)  # throttled: back off before asking for the rest
                answer = client.batch_get_item(RequestItems=request)
                for raw in answer.get("Responses", {}).get(self.table.name, []):
                    webhook = Webhook.from_item(raw)
                    found[(webhook.developer_id, webhook.webhook_id)] = webhook
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                # Never report a webhook we could not read as missing: its posts would be dropped.
                raise Unavailable("webhooks: some could not be read (throttled)")
        return found

    def list_for(self, developer_id: str) -> list[Webhook]:
        condition = Key("developerId").eq(developer_id) & Key("webhookId").lt(COUNTER)
        return [Webhook.from_item(item) for item in self._query(KeyConditionExpression=condition)]

    def active_for(self, developer_id: str, event: str) -> list[tuple[str, str]]:
        """(webhook id, stored filter) of the enabled webhooks of (developer, event): the sparse index."""
        condition = Key("activeKey").eq(active_key(developer_id, event))
        return [
            (item["webhookId"], item.get("filterJson") or "{}")
            for item in self._query(IndexName=ACTIVE_INDEX, KeyConditionExpression=condition)
        ]

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        while True:
            page = self.table.query(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- what delivery writes
    def record_success(self, developer_id: str, webhook_id: str, at: str) -> None:
        self._update(
            developer_id,
            webhook_id,
            UpdateExpression="SET lastTriggered = :at, failCount = :zero",
            ExpressionAttributeValues={":at": at, ":zero": 0},
        )

    def disable(self, developer_id: str, webhook_id: str, reason: DisabledReason, at_ms: int, at: str) -> bool:
        """Disable once: True only for the caller that flipped it, who then owes the alert
        (alertPending stays set until the alert is out, so a lost alert is sent again)."""
        return conditional_update(
            self.table,
            Key=self._key(developer_id, webhook_id),
            UpdateExpression=(
                "SET enabled = :false, disabledReason = :reason, disabledAt = :at_ms, updatedAt = :at,"
                " alertPending = :true REMOVE activeKey"
            ),
            ConditionExpression="attribute_exists(webhookId) AND enabled = :true",
            ExpressionAttributeValues={
                ":false": False,
                ":true": True,
                ":reason": reason.value,
                ":at_ms": at_ms,
                ":at": at,
            },
        )

    def clear_alert(self, developer_id: str, webhook_id: str) -> bool:
        return conditional_update(
            self.table,
            Key=self._key(developer_id, webhook_id),
            UpdateExpression="REMOVE alertPending",
            ConditionExpression="attribute_exists(alertPending)",
        )

    # -- receiver controls (what delivery writes)
    def take_slot(
        self, developer_id: str, webhook_id: str, interval_ms: int, now_ms: int, *, hint_ms: int | None = None
    ) -> int | None:
        """The rate limit's next slot (GCRA on the webhook item's theoretical arrival time,
        `rateTat`): now when the limit has room, else the end of the queue of slots already given
        out, which moves on by one interval. One write (two when `hint_ms`, the arrival time last
        read, guessed wrong); None if the webhook is gone."""
        return self._gcra("rateTat", developer_id, webhook_id, interval_ms, now_ms, hint_ms=hint_ms)

    def pace(self, developer_id: str, webhook_id: str, interval_ms: int, now_ms: int) -> int:
        """Take the right to post now if the last post was at least one interval ago: 0 when
        taken, else the milliseconds left to wait. Slots spread the posts over time; this check,
        made right before the post, keeps them apart at the receiver even when a message comes
        back late beside one on time."""
        try:
            self.table.update_item(
                Key=self._key(developer_id, webhook_id),
                UpdateExpression="SET ratePostedAt = :now",
                ConditionExpression="attribute_not_exists(ratePostedAt) OR ratePostedAt <= :edge",
                ExpressionAttributeValues={":now": now_ms, ":edge": now_ms - interval_ms},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not conditional_check_failed(error):
                raise
            posted = int((error.response.get("Item") or {}).get("ratePostedAt", {}).get("N", now_ms))
            return max(1, posted + interval_ms - now_ms)
        return 0

    def take_slot_within(
        self, developer_id: str, webhook_id: str, interval_ms: int, now_ms: int, latest_ms: int
    ) -> tuple[int, bool] | None:
        """The next slot if it comes by `latest_ms`: (slot, True) when taken; (when the next free
        slot comes, False) when it is later, and then nothing was written. None if the webhook is gone."""
        try:
            slot = self._gcra(
                "rateTat", developer_id, webhook_id, interval_ms, now_ms, latest_ms=latest_ms, hint_ms=now_ms
            )
        except _OutOfReach as later:
            return later.slot_ms, False
        return None if slot is None else (slot, True)

    def _gcra(
        self,
        attribute: str,
        developer_id: str,
        webhook_id: str,
        interval_ms: int,
        now_ms: int,
        *,
        latest_ms: int | None = None,
        hint_ms: int | None = None,
    ) -> int | None:
        """GCRA in one conditional write when `hint_ms` (the arrival time last read) says which
        case applies: the limit has room (the slot is now), or a queue of slots has formed (the
        slot is its end). A wrong guess costs one more write."""
        key = self._key(developer_id, webhook_id)
        names = {"#tat": attribute}
        reach = "" if latest_ms is None else " AND #tat <= :latest"

        def free() -> int | None:
            if conditional_update(
                self.table,
                Key=key,
                UpdateExpression="SET #tat = :next",
                ConditionExpression="attribute_exists(webhookId) AND (attribute_not_exists(#tat) OR #tat <= :now)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={":next": now_ms + interval_ms, ":now": now_ms},
            ):
                return now_ms
            return None

        def queued() -> int | None:
            try:
                answer = self.table.update_item(
                    Key=key,
                    UpdateExpression="SET #tat = #tat + :interval",
                    ConditionExpression="attribute_exists(webhookId) AND #tat > :now" + reach,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues={
                        ":interval": interval_ms,
                        ":now": now_ms,
                        **({":latest": latest_ms} if latest_ms is not None else {}),
                    },
                    ReturnValues="UPDATED_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as error:
                if not conditional_check_failed(error):
                    raise
                old = error.response.get("Item")
                if not old:
                    raise _Gone() from None
                tat = int((old.get(attribute) or {}).get("N", 0))
                if latest_ms is not None and tat > latest_ms:
                    raise _OutOfReach(tat) from None
                return None  # no queue (or it drained meanwhile): the limit has room
            return int(answer["Attributes"][attribute]) - interval_ms

        order = (queued, free) if hint_ms is not None and hint_ms > now_ms else (free, queued)
        try:
            for _ in range(3):
                for attempt in order:
                    slot = attempt()
                    if slot is not None:
                        return slot
        except _Gone:
            return None
        raise Unavailable("the rate limit's slot kept moving; retry")

    def record_failures(self, developer_id: str, webhook_id: str, count: int, at: str) -> tuple[int, CircuitState]:
        """Count `count` more consecutive failures: the new total and the circuit's state then."""
        answer = self._update(
            developer_id,
            webhook_id,
            UpdateExpression="SET lastTriggered = :at ADD failCount :count",
            ExpressionAttributeValues={":at": at, ":count": count},
            ReturnValues="ALL_NEW",
        )
        attributes = (answer or {}).get("Attributes", {})
        return int(attributes.get("failCount", 0)), CircuitState(attributes.get("circuitState") or "closed")

    def open_circuit(self, developer_id: str, webhook_id: str, threshold: int, now_ms: int, probe_at_ms: int) -> bool:
        """Open a closed circuit once its consecutive failures reach `threshold`: True only for
        the one caller that opened it (who then queues the probe and owes the alert)."""
        return conditional_update(
            self.table,
            Key=self._key(developer_id, webhook_id),
            UpdateExpression="SET circuitState = :open, circuitSince = :now, nextProbeAt = :probe",
            ConditionExpression=(
                "attribute_exists(webhookId) AND enabled = :true AND attribute_not_exists(circuitState)"
                " AND failCount >= :threshold"
            ),
            ExpressionAttributeValues={
                ":open": CircuitState.OPEN.value,
                ":now": now_ms,
                ":probe": probe_at_ms,
                ":true": True,
                ":threshold": threshold,
            },
        )

    def claim_probe(self, developer_id: str, webhook_id: str, now_ms: int, until_ms: int) -> bool:
        """Half-open a circuit whose probe is due: one probe at a time. The claim lasts until
        `until_ms`, so a probe lost with its invocation is made again by its returning message."""
        return conditional_update(
            self.table,
            Key=self._key(developer_id, webhook_id),
            UpdateExpression="SET circuitState = :half, nextProbeAt = :until",
            ConditionExpression="circuitState IN (:open, :half) AND nextProbeAt <= :now AND enabled = :true",
            ExpressionAttributeValues={
                ":half": CircuitState.HALF_OPEN.value,
                ":open": CircuitState.OPEN.value,
                ":now": now_ms,
                ":until": until_ms,
                ":true": True,
            },
        )

    def probe_failed(self, developer_id: str, webhook_id: str, probe_at_ms: int) -> bool:
        return conditional_update(
            self.table,
            Key=self._key(developer_id, webhook_id),
            UpdateExpression="SET circuitState = :open, nextProbeAt = :probe",
            ConditionExpression="circuitState = :half",
            ExpressionAttributeValues={
                ":half": CircuitState.HALF_OPEN.value,
                ":open": CircuitState.OPEN.value,
                ":probe": probe_at_ms,
            },
        )

    def close_circuit(self, developer_id: str, webhook_id: str) -> bool:
        """The probe got through: closed, failures forgotten, held deliveries to release."""
        return conditional_update(
            self.table,
            Key=self._key(developer_id, webhook_id),
            # A closing starts the catch-up afresh: a link of an earlier one was held when it reopened.
            UpdateExpression=(
                "SET failCount = :zero, heldPending = :true"
                " REMOVE circuitState, circuitSince, nextProbeAt, releaseUntil, releasing"
            ),
            ConditionExpression="attribute_exists(circuitState)",
            ExpressionAttributeValues={":zero": 0, ":true": True},
        )

    def claim_release(
        self, developer_id: str, webhook_id: str, now_ms: int, until_ms: int, *, settled: str | None = None
    ) -> bool:
        """One releaser at a time, while the circuit stays closed (two would interleave their posts):
        until `until_ms`, or until it lets go (`release_done`). The batch that settled the link in
        flight (`settled`, its delivery id) takes over at once; a second copy of that link finds
        `releasing` gone and stays out."""
        condition = (
            "attribute_exists(heldPending) AND attribute_not_exists(circuitState)"
            " AND (attribute_not_exists(releaseUntil) OR releaseUntil < :now"
        )
        values: dict[str, Any] = {":until": until_ms, ":now": now_ms}
        if settled is not None:
            condition += " OR releasing = :settled"
            values[":settled"] = settled
        return conditional_update(
            self.table,
            Key=self._key(developer_id, webhook_id),
            UpdateExpression="SET releaseUntil = :until REMOVE releasing",
            ConditionExpression=condition + ")",
            ExpressionAttributeValues=values,
        )

    def link_sent(self, developer_id: str, webhook_id: str, delivery_id: str, until_ms: int) -> None:
        """The held delivery just queued is the catch-up's one link in flight until it settles (or
        until `until_ms`, past which any batch for the webhook goes on)."""
        self._update(
            developer_id,
            webhook_id,
            UpdateExpression="SET releasing = :id, releaseUntil = :until",
            ExpressionAttributeValues={":id": delivery_id, ":until": until_ms},
        )

    def release_done(self, developer_id: str, webhook_id: str) -> None:
        self._update(developer_id, webhook_id, UpdateExpression="REMOVE releaseUntil, releasing")

    def held_settled(self, developer_id: str, webhook_id: str) -> bool:
        """Every held delivery was released (or killed): nothing left pending."""
        return conditional_update(
            self.table,
            Key=self._key(developer_id, webhook_id),
            UpdateExpression="REMOVE heldPending, releaseUntil, releasing",
            ConditionExpression="attribute_exists(heldPending) AND attribute_not_exists(circuitState)",
        )

    def _update(self, developer_id: str, webhook_id: str, **kwargs: Any) -> dict | None:
        try:
            return self.table.update_item(
                Key=self._key(developer_id, webhook_id), ConditionExpression="attribute_exists(webhookId)", **kwargs
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return None  # deleted meanwhile: nothing to count
            raise


class _Missing(Exception):
    pass
