"""Where a developer's data lives: the one declaration of every store the template makes.

Off-boarding (`eventsapi developers remove`), export (`eventsapi developers export`), retention and
expunge read this map; nothing else lists stores. A unit test fails when the template has a table,
queue, stream or log group the map does not declare, or a queue or log group whose retention differs
from the ceiling declared here.

For each table: how a developer's items are found without a Scan (a `Query` of a partition or an
index, or `Keys` computed from the developer and the owners of their partitions), which fields hold
payloads, receivers' answers, personal data or secrets (never exported), and how long items live.
A queue, stream or log group cannot be searched by developer: it is "bounded by retention only", and
its ceiling is what off-boarding names in its output.

Adding a store or an item kind is one entry here (a `Store`, or a `Query`/`Keys` in a store's
`find`). The order of `STORES` is the order off-boarding removes in: keys first (no new calls),
then what the developer produced, the webhooks table last (it names the partitions the others are
found by, so an interrupted removal can be run again).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from events_core.budgets import TRIGGER_BUDGET_KEY
from events_core.lifecycle.keys import EXPUNGE_PREFIX, SETTINGS_PREFIX

DAY = 86400
RETRY_SPAN_DAYS = 2  # a stored payload and a retired partition outlive their records by the retry schedule's span


@dataclass(frozen=True)
class Scope:
    """One developer's walk: who they are and the owners of their partitions (webhooks and listen
    sessions, live or retired within the retention), found first (events_core.lifecycle.walk)."""

    developer_id: str
    webhooks: tuple[str, ...] = ()  # the live webhooks' ids
    owners: tuple[str, ...] = ()  # webhook and listen-session ids whose partitions hold this developer's items
    sessions: tuple[str, ...] = ()  # listen-session ids (a subset of owners)
    rate_windows: tuple[int, ...] = ()  # the rate-counter windows that may still have an item
    link_hashes: tuple[str, ...] = ()  # the webhooks' pending verify links (their tokens' hashes)


@dataclass(frozen=True)
class Query:
    """Query `attribute = value` for each value (on `index` when named). `owned_by`: keep only items
    whose attribute of that name is the developer (a key of another developer may look like theirs)."""

    attribute: str
    values: Callable[[Scope], Iterable[str]]
    describe: str
    index: str | None = None
    sort_prefix: tuple[str, str] | None = None  # (sort key, prefix): begins_with
    owned_by: str | None = None


@dataclass(frozen=True)
class Keys:
    """Items at keys computed from the scope (GetItem / DeleteItem); absent ones are skipped."""

    keys: Callable[[Scope], Iterable[dict[str, str]]]
    describe: str


Finder = Query | Keys
Kind = Literal["table", "queue", "stream", "log-group"]


@dataclass(frozen=True)
class Store:
    logical_id: str  # the template's resource (or, for FUNCTION_LOGS, every function's log group)
    kind: Kind
    holds: str
    lives: str  # how long an item, message or line lives
    output: str | None = None  # the stack output naming it
    key: tuple[str, ...] = ()  # a table's key attributes
    find: tuple[Finder, ...] = ()  # empty: bounded by retention only
    payloads: tuple[str, ...] = ()  # fields holding event payloads
    answers: tuple[str, ...] = ()  # fields holding receivers' answers
    personal: tuple[str, ...] = ()  # fields holding other personal data (URLs, addresses, names)
    secrets: tuple[str, ...] = ()  # never exported
    ceiling_seconds: int | None = (
        None  # the longest a queue, stream or log group keeps anything (None: LogRetentionDays)
    )
    template_ceiling: str | None = None  # where the template sets that ceiling (checked by a test)
    notes: tuple[str, ...] = field(default_factory=tuple)

    def ceiling(self, log_retention_days: int) -> str:
        seconds = self.ceiling_seconds if self.ceiling_seconds is not None else log_retention_days * DAY
        if seconds % DAY == 0:
            return f"{seconds // DAY} days" if seconds != DAY else "1 day"
        return f"{seconds // 3600} hours"


# -- key builders (one place: the modules that write the items use the same shapes)
def _developer(scope: Scope) -> Iterable[str]:
    return (scope.developer_id,)


def _delivery_partitions(scope: Scope) -> Iterable[str]:
    from events_core.records.ledger import ledger_partition
    from events_core.records.model import webhook_key
    from events_core.records.subjects import index_partition

    yield from (webhook_key(scope.developer_id, owner) for owner in scope.owners)
    yield index_partition(scope.developer_id)  # the subject index (erasure's), sparse
    yield ledger_partition(scope.developer_id)  # last: it names the retired partitions above


def _stats_partitions(scope: Scope) -> Iterable[str]:
    from events_core.stats.store import stats_partition

    return (stats_partition(scope.developer_id, owner) for owner in scope.owners)


def _ordering_partitions(scope: Scope) -> Iterable[str]:
    from events_core.ordering.state import partition

    return (partition(scope.developer_id, owner) for owner in scope.owners)


def _listen_partitions(scope: Scope) -> Iterable[str]:
    from events_core.listen.model import waiting_pk

    yield from (waiting_pk(scope.developer_id, session) for session in scope.sessions)
    yield scope.developer_id  # the sessions themselves, after what waits in them


MAX_LOG_SHARDS = 64  # the template's LogShards MaxValue: entries written under a larger count stay where they were


def _log_shards(scope: Scope) -> Iterable[str]:
    from events_core.api_logs import shard_key

    return (shard_key(scope.developer_id, shard) for shard in range(MAX_LOG_SHARDS))


def _control_keys(scope: Scope) -> Iterable[dict[str, str]]:
    developer = scope.developer_id
    yield {"controlKey": f"post#{developer}"}
    yield {"controlKey": f"post#{developer}#{TRIGGER_BUDGET_KEY}"}  # listen triggers' own bucket
    for owner in scope.owners:
        yield {"controlKey": f"post#{developer}#{owner}"}
        yield {"controlKey": f"tests#{developer}#{owner}"}
    from events_core.webhooks.verification import LINK_PREFIX

    for link in scope.link_hashes:  # the link a webhook's last challenge handed out (24 h)
        yield {"controlKey": f"{LINK_PREFIX}{link}"}
    yield {"controlKey": f"{SETTINGS_PREFIX}{developer}"}
    yield {"controlKey": f"{EXPUNGE_PREFIX}{developer}"}


def _rate_counter_keys(scope: Scope) -> Iterable[dict[str, str]]:
    return ({"counterKey": f"{scope.developer_id}#{window}"} for window in scope.rate_windows)


TABLES: tuple[Store, ...] = (
    Store(
        "ApiKeysTable",
        "table",
        holds="API keys (stored as SHA-256), their scopes and prefixes",
        lives="until revoked",
        output="ApiKeysTableName",
        key=("keyHash",),
        find=(Query("developerId", _developer, "index ByDeveloper, developerId = developer", index="ByDeveloper"),),
        secrets=("keyHash",),
    ),
    Store(
        "ListenTable",
        "table",
        holds="listen sessions (sealed secrets) and the deliveries waiting in them (payloads)",
        lives="a session 2 hours after its last poll; a waiting delivery 24 hours",
        output="ListenTableName",
        key=("pk", "sk"),
        find=(Query("pk", _listen_partitions, 'pk = "developer#session" for each session, then pk = developer'),),
        payloads=("payload", "payloadRef"),
        secrets=("secretEnc",),
    ),
    Store(
        "DeliveriesTable",
        "table",
        holds="delivery records of webhooks, test sends and listen sessions, with the partition ledger;"
        " webhooks' health aggregates (counts and latency histograms per minute and hour, no payloads);"
        " the subject index (events_core.records.subjects: subjects only as hashes);"
        " ordered webhooks' key state (events_core.ordering)",
        lives="LogRetentionDays after their last attempt (expiresAt); subject index entries as long as the payload;"
        " ordering state after its last write",
        output="DeliveriesTableName",
        key=("webhookKey", "deliveryId"),
        find=(
            Query(
                "webhookKey",
                _delivery_partitions,
                'webhookKey = "developer#owner" for every webhook and session (live or in the ledger),'
                ' "developer#~subjects" (the subject index), then "developer#~partitions" (the ledger)',
                owned_by="developerId",
            ),
            Query(
                "webhookKey",
                _stats_partitions,
                'webhookKey = "developer#owner#stats" for every owner: health aggregates (events_core.stats)',
                owned_by="developerId",
            ),
            Query(
                "webhookKey",
                _ordering_partitions,
                'webhookKey = "developer#owner#~order" for every webhook: ordered webhooks\' key heads,'
                " waiting deliveries (their messages) and blocked keys",
                owned_by="developerId",
            ),
        ),
        payloads=("payload", "payloadRef", "message"),
        answers=("attempts", "lastError", "lastStatus"),
        notes=(
            '"~subject#<hash>" items name which developers used a subject (a hash and a developer id, no'
            " payload): erasure across developers reads them; they expire two days after the index entries",
        ),
    ),
    Store(
        "PayloadsTable",
        "table",
        holds="event payloads over 4 KB, stored once per event",
        lives="as long as the records naming them, plus 2 days",
        output="PayloadsTableName",
        key=("developerId", "eventId"),
        find=(Query("developerId", _developer, "developerId = developer"),),
        payloads=("payload",),
    ),
    Store(
        "IdempotencyTable",
        "table",
        holds="idempotency claims (the key hashed with the developer; the first event's id, time and data hash)",
        lives="24 hours",
        output="IdempotencyTableName",
        key=("claimKey",),
        find=(Query("developerId", _developer, "index ByDeveloper, developerId = developer", index="ByDeveloper"),),
        notes=("claims written before the ByDeveloper index carry no developerId: they expire within 24 hours",),
    ),
    Store(
        "ApiLogsTable",
        "table",
        holds="API-call logs: method, path, status, latency of every call",
        lives="LogRetentionDays (expiresAt)",
        output="ApiLogsTableName",
        key=("userId", "logId"),
        find=(
            Query(
                "userId",
                _log_shards,
                'userId = developer or "developer#n" for every write shard up to the LogShards maximum',
                owned_by="developerId",
            ),
        ),
        personal=("path",),
    ),
    Store(
        "ControlTable",
        "table",
        holds="post budgets, test-send rings, the developer's settings and expunge jobs",
        lives="budgets while in use; rings LogRetentionDays; settings until changed or off-boarded",
        output="ControlTableName",
        key=("controlKey",),
        find=(
            Keys(
                _control_keys,
                '"post#developer", "post#developer#~listen" (triggers), "post#developer#owner",'
                ' "tests#developer#owner" for every owner, "verifylink#<hash>" for each webhook\'s pending link,'
                ' "settings#developer", "expunge#developer"',
            ),
        ),
        notes=("\"stack#cursor-key\" is the stack's own, nobody's data",),
    ),
    Store(
        "RateCountersTable",
        "table",
        holds="request counts per developer and window",
        lives="one rate window plus 60 s",
        output="RateCountersTableName",
        key=("counterKey",),
        find=(Keys(_rate_counter_keys, '"developer#window" for the windows that may still exist'),),
    ),
    Store(
        "WebhooksTable",
        "table",
        holds="webhooks (URL, filter, description, sealed secrets, headers and OAuth2 credentials),"
        " the developer's counter (with its per-pattern counts) and listen and wildcard markers",
        lives="until deleted",
        output="WebhooksTableName",
        key=("developerId", "webhookId"),
        find=(Query("developerId", _developer, "developerId = developer"),),
        personal=("url", "description", "headerNames", "auth"),
        secrets=("secretEnc", "previousSecretEnc", "headersEnc", "authSecretEnc", "verification"),
        notes=("the partition \"~signing-keys\" holds the stack's own signing keys, nobody's data",),
    ),
)

_QUEUE = "bounded by retention only: a queue cannot be searched by developer"
FOURTEEN_DAYS = 14 * DAY

QUEUES: tuple[Store, ...] = (
    Store(
        "EventsQueue",
        "queue",
        "events on their way to the fan-out (payloads)",
        "4 days",
        ceiling_seconds=4 * DAY,
        template_ceiling="MessageRetentionPeriod",
        payloads=("data",),
        notes=(_QUEUE,),
    ),
    Store(
        "DeliveryQueue",
        "queue",
        "delivery messages waiting for an attempt (payloads up to 4 KB inline)",
        "4 days (below its dead-letter and fault queues' 14, so a crashed message always reaches them)",
        ceiling_seconds=4 * 86400,
        template_ceiling="MessageRetentionPeriod",
        payloads=("payload",),
        notes=(_QUEUE,),
    ),
    Store(
        "EventsDeadLetterQueue",
        "queue",
        "events the fan-out refused, with the reason (payloads)",
        "14 days",
        ceiling_seconds=FOURTEEN_DAYS,
        template_ceiling="MessageRetentionPeriod",
        payloads=("data",),
        notes=(_QUEUE,),
    ),
    Store(
        "DeliveryDeadLetterQueue",
        "queue",
        "deliveries out of attempts (payloads)",
        "14 days",
        ceiling_seconds=FOURTEEN_DAYS,
        template_ceiling="MessageRetentionPeriod",
        payloads=("payload",),
        notes=(_QUEUE,),
    ),
    Store(
        "EventsFaultQueue",
        "queue",
        "events whose fan-out kept crashing (payloads)",
        "14 days",
        ceiling_seconds=FOURTEEN_DAYS,
        template_ceiling="MessageRetentionPeriod",
        payloads=("data",),
        notes=(_QUEUE,),
    ),
    Store(
        "DeliveryFaultQueue",
        "queue",
        "delivery messages whose invocations kept crashing",
        "14 days",
        ceiling_seconds=FOURTEEN_DAYS,
        template_ceiling="MessageRetentionPeriod",
        payloads=("payload",),
        notes=(_QUEUE,),
    ),
    Store(
        "ApiLogsDeadLetterQueue",
        "queue",
        "access-log lines the ingest could not write",
        "14 days",
        ceiling_seconds=FOURTEEN_DAYS,
        template_ceiling="MessageRetentionPeriod",
        personal=("path",),
        notes=(_QUEUE,),
    ),
    Store(
        "ExpungeQueue",
        "queue",
        "expunge job steps: developer and job ids, a position (no payloads)",
        "4 days",
        ceiling_seconds=4 * DAY,
        template_ceiling="MessageRetentionPeriod",
        notes=(_QUEUE,),
    ),
    Store(
        "ExpungeFaultQueue",
        "queue",
        "expunge job steps whose invocations kept crashing (no payloads)",
        "14 days",
        ceiling_seconds=FOURTEEN_DAYS,
        template_ceiling="MessageRetentionPeriod",
        notes=(_QUEUE,),
    ),
    Store(
        "ApiLogsStream",
        "stream",
        "access-log lines of other accounts' stages, in transit",
        "24 hours",
        ceiling_seconds=DAY,
        template_ceiling="RetentionPeriodHours",
        personal=("path",),
        notes=(_QUEUE,),
    ),
)

LOG_GROUPS: tuple[Store, ...] = (
    Store(
        "ApiAccessLogs",
        "log-group",
        "the stage's access log: every call's path, status, developer id",
        "LogRetentionDays",
        template_ceiling="RetentionInDays",
        personal=("path",),
        notes=("bounded by retention only: CloudWatch Logs cannot delete by content",),
    ),
    Store(
        "ServiceCallLogs",
        "log-group",
        "calls of services without a stage, on their way to the API-call logs",
        "1 day",
        ceiling_seconds=DAY,
        template_ceiling="RetentionInDays",
        personal=("path",),
        notes=("bounded by retention only",),
    ),
)

# Every function's own log group (the LoggingConfig a test requires of each function, so SAM never
# makes one that keeps forever): one line per post, developer and webhook ids, never a payload or secret.
FUNCTION_LOGS = Store(
    "*FunctionLogs",
    "log-group",
    "function logs: one line per post (developer, webhook and delivery ids, host, status), no payloads",
    "LogRetentionDays",
    template_ceiling="RetentionInDays",
    notes=("bounded by retention only: CloudWatch Logs cannot delete by content",),
)

STORES: tuple[Store, ...] = (*TABLES, *QUEUES, *LOG_GROUPS, FUNCTION_LOGS)
STORE_TYPES = {
    "AWS::DynamoDB::Table": "table",
    "AWS::SQS::Queue": "queue",
    "AWS::Kinesis::Stream": "stream",
    "AWS::Logs::LogGroup": "log-group",
}


def store(logical_id: str) -> Store:
    return next(s for s in STORES if s.logical_id == logical_id)


def bounded_only(log_retention_days: int) -> list[str]:
    """What only retention removes, with its ceiling: the sentence off-boarding prints."""
    return [
        f"{s.logical_id} ({s.kind}): {s.holds}; gone within {s.ceiling(log_retention_days)}"
        for s in (*QUEUES, *LOG_GROUPS, FUNCTION_LOGS)
    ]
