"""Expunge jobs: a developer removes the payloads and receivers' answers of every settled delivery
in a time window (of one webhook, or of all their webhooks and listen sessions), run through a
queue (ExpungeQueue) and a function (ExpungeFunction), never inside the API call.

State lives in one ControlTable item per developer ("expunge#developer", in the data map): the
job running (with a lease, so a job whose function died does not block the next one for more than
JOB_LEASE_MS), a window of jobs started this hour (at most JOBS_PER_HOUR: 429 with Retry-After),
and the last KEPT_JOBS jobs (what GET answers). Each change is a write conditional on the revision
read. The records stay, with `payload: null` and `expunged: true`; a payload stored once for its
event goes with them."""

import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from events_core.clock import iso_ms, new_id, now_ms
from events_core.config import Settings, settings
from events_core.delivery import queues
from events_core.errors import BadRequest, EventsApiError, NotFound, Unavailable
from events_core.lifecycle.document import RevisionedDocument
from events_core.lifecycle.keys import EXPUNGE_PREFIX
from events_core.lifecycle.retention import SETTLED
from events_core.records.message import delivery_id_floor, window_bound
from events_core.records.model import DeliveryRecord, webhook_key
from events_core.records.payloads import PayloadStore
from events_core.records.store import DeliveryStore
from events_core.webhooks import service as webhooks
from events_core.webhooks.requests import known_fields

JOBS_PER_HOUR = 5
KEPT_JOBS = 20
JOB_LEASE_MS = 15 * 60 * 1000  # a running job's hold on the developer, renewed by each step
STEP_MARGIN_SECONDS = 20.0  # a step hands on (a continuation message) this long before its timeout
_TRIES = 4


class TooManyJobs(EventsApiError):
    status = 429
    code = "throttled"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}


@dataclass(frozen=True)
class Window:
    since_ms: int
    until_ms: int
    webhook_id: str | None


def parse_window(body: Any, at_ms: int) -> Window:
    if not isinstance(body, dict):
        raise BadRequest("body: must be a JSON object")
    known_fields(body, ("since", "until", "webhookId"))
    if "since" not in body:
        raise BadRequest("since: is required (ISO-8601 time)", field="since")
    since = window_bound("since", body["since"])
    until = at_ms if body.get("until") is None else window_bound("until", body["until"])
    if until < since:
        raise BadRequest("until: must not be before since", field="until")
    hook = body.get("webhookId")
    if hook is not None and not isinstance(hook, str):
        raise BadRequest("webhookId: a webhook id (string)", field="webhookId")
    return Window(since, until, hook)


class JobStore(RevisionedDocument):
    prefix = EXPUNGE_PREFIX
    field = "state"

    def change(self, developer_id: str, edit: Callable[[dict[str, Any]], Any]) -> Any:
        """Read, edit (may raise), write conditional on the revision; again on a lost race."""
        for _ in range(_TRIES):
            state, revision = self.read(developer_id)
            answer = edit(state)
            if self.write(developer_id, state, revision):
                return answer
        raise Unavailable("the expunge jobs changed under this request several times; try again")


def _public(job: dict[str, Any]) -> dict[str, Any]:
    return {
        "jobId": job["jobId"],
        "state": job["state"],
        "removed": job.get("removed", 0),
        "skipped": job.get("skipped", 0),
        "since": iso_ms(job["since"]),
        "until": iso_ms(job["until"]),
        "webhookId": job.get("webhookId"),
        "createdAt": iso_ms(job["createdAt"]),
        "finishedAt": iso_ms(job["finishedAt"]) if job.get("finishedAt") else None,
        "error": job.get("error"),
    }


def start(developer_id: str, body: Any, store: JobStore | None = None, config: Settings | None = None) -> dict:
    """Queue a job: 202 {jobId, state: queued}. 429 while one runs, or past JOBS_PER_HOUR."""
    config, store, at = config or settings(), store or JobStore(), now_ms()
    window = parse_window(body, at)
    if window.webhook_id is not None:
        webhooks.get(developer_id, window.webhook_id)  # 404 for an unknown or another developer's
    job_id = new_id(at)
    hour = at // 3_600_000

    def admit(state: dict[str, Any]) -> dict[str, Any]:
        running = state.get("running")
        if running and running.get("leaseUntil", 0) > at:
            wait = max(1, (int(running["leaseUntil"]) - at) // 1000)
            raise TooManyJobs(f"expunge job {running['jobId']} is still running; one at a time", min(wait, 60))
        started = state.get("started", {})
        count = started.get("count", 0) if started.get("hour") == hour else 0
        if count >= JOBS_PER_HOUR:
            raise TooManyJobs(f"at most {JOBS_PER_HOUR} expunge jobs an hour", int((hour + 1) * 3600 - at // 1000))
        job = {
            "jobId": job_id,
            "state": "queued",
            "since": window.since_ms,
            "until": window.until_ms,
            "webhookId": window.webhook_id,
            "createdAt": at,
            "removed": 0,
            "skipped": 0,
        }
        state["running"] = {"jobId": job_id, "leaseUntil": at + JOB_LEASE_MS}
        state["started"] = {"hour": hour, "count": count + 1}
        state["jobs"] = [job, *state.get("jobs", [])][:KEPT_JOBS]
        return job

    job = store.change(developer_id, admit)
    message = {"developerId": developer_id, "jobId": job_id}
    try:
        queues.send_one(config.expunge_queue_url, queues.Outgoing(json.dumps(message), developer_id))
    except ClientError:
        _finish(store, developer_id, job_id, "failed", error="the expunge queue refused the job")
        raise Unavailable("the expunge queue refused the job; nothing was queued, retry") from None
    return _public(job)


def get(developer_id: str, job_id: str, store: JobStore | None = None) -> dict[str, Any]:
    state, _ = (store or JobStore()).read(developer_id)
    for job in state.get("jobs", []):
        if job["jobId"] == job_id:
            return _public(job)
    raise NotFound(f"expunge job {job_id[:64]!r} not found")


def _edit_job(jobs_state: dict[str, Any], job_id: str, **changes: Any) -> dict[str, Any] | None:
    for job in jobs_state.get("jobs", []):
        if job["jobId"] == job_id:
            job.update(changes)
            return job
    return None


def _finish(store: JobStore, developer_id: str, job_id: str, outcome: str, **changes: Any) -> None:
    def edit(state: dict[str, Any]) -> None:
        _edit_job(state, job_id, state=outcome, finishedAt=now_ms(), **changes)
        if (state.get("running") or {}).get("jobId") == job_id:
            state.pop("running")

    store.change(developer_id, edit)


# -- the function that runs a job (ExpungeFunction, from ExpungeQueue)
def _partitions(developer_id: str, job: dict[str, Any], config: Settings) -> list[str]:
    if job.get("webhookId"):
        return [str(job["webhookId"])]
    from events_core.lifecycle import walk  # the job's runner only: the API's routes need no map

    scope = walk.scope_of(developer_id, walk.LiveTables().of, config)
    return list(scope.owners)


def run(
    message: dict[str, Any],
    *,
    seconds_left: Callable[[], float],
    store: JobStore | None = None,
    deliveries: DeliveryStore | None = None,
    payloads: PayloadStore | None = None,
    config: Settings | None = None,
) -> str:
    """One step of a job: expunge settled deliveries of each partition in the window, oldest first;
    hand on (a continuation message naming where it stopped) before the function's time runs out."""
    config, store = config or settings(), store or JobStore()
    deliveries, payloads = deliveries or DeliveryStore(), payloads or PayloadStore()
    developer_id, job_id = str(message["developerId"]), str(message["jobId"])
    state, _ = store.read(developer_id)
    job = next((j for j in state.get("jobs", []) if j["jobId"] == job_id), None)
    if job is None or job["state"] in ("done", "failed"):
        return "gone"

    def running(s: dict[str, Any]) -> None:
        _edit_job(s, job_id, state="running")
        s["running"] = {"jobId": job_id, "leaseUntil": now_ms() + JOB_LEASE_MS}

    store.change(developer_id, running)
    owners = _partitions(developer_id, job, config)
    resume = message.get("after")  # [owner index, last delivery id]
    removed = skipped = 0
    first_owner = int(resume[0]) if resume else 0
    for index in range(first_owner, len(owners)):
        owner = owners[index]
        after = resume[1] if resume and index == first_owner else None
        done, left, stopped, where = _expunge_partition(
            deliveries, payloads, developer_id, owner, job, after, seconds_left
        )
        removed, skipped = removed + done, skipped + left
        if stopped:  # out of time: hand on
            store.change(developer_id, functools.partial(_add, job_id=job_id, removed=removed, skipped=skipped))
            onward = {"developerId": developer_id, "jobId": job_id, "after": [index, where]}
            queues.send_one(config.expunge_queue_url, queues.Outgoing(json.dumps(onward), developer_id))
            return "continued"
    store.change(developer_id, lambda s: _add(s, job_id, removed, skipped))
    _finish(store, developer_id, job_id, "done")
    return "done"


def _add(state: dict[str, Any], job_id: str, removed: int, skipped: int) -> None:
    job = _edit_job(state, job_id)
    if job is not None:
        job["removed"] = int(job.get("removed", 0)) + removed
        job["skipped"] = int(job.get("skipped", 0)) + skipped
        if state.get("running", {}).get("jobId") == job_id:
            state["running"]["leaseUntil"] = now_ms() + JOB_LEASE_MS


def _expunge_partition(
    deliveries: DeliveryStore,
    payloads: PayloadStore,
    developer_id: str,
    owner: str,
    job: dict[str, Any],
    after: str | None,
    seconds_left: Callable[[], float],
) -> tuple[int, int, bool, str | None]:
    """(removed, skipped, whether it stopped for time, the last delivery id handled)."""
    low, high = delivery_id_floor(int(job["since"])), delivery_id_floor(int(job["until"]) + 1)
    query: dict[str, Any] = {
        "KeyConditionExpression": Key("webhookKey").eq(webhook_key(developer_id, owner))
        & Key("deliveryId").between(low, high),
    }
    if after is not None:
        query["ExclusiveStartKey"] = {"webhookKey": webhook_key(developer_id, owner), "deliveryId": after}
    removed = skipped = 0
    while True:
        page = deliveries.table.query(**query)
        for item in page.get("Items", []):
            if seconds_left() < STEP_MARGIN_SECONDS:
                return removed, skipped, True, after
            record = DeliveryRecord.from_item(item)
            after = record.delivery_id
            if record.expunged or (not record.payload and not record.payload_ref and not _has_answers(record)):
                continue
            if record.status not in SETTLED or not deliveries.expunge(record, now_ms=now_ms()):
                skipped += 1  # on its way, or being attempted: it keeps what it needs
                continue
            if record.payload_ref:
                payloads.delete(developer_id, record.payload_ref)
            removed += 1
        if "LastEvaluatedKey" not in page:
            return removed, skipped, False, after
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _has_answers(record: DeliveryRecord) -> bool:
    return any(attempt.response_excerpt for attempt in record.attempts)


def remaining(context: Any) -> Callable[[], float]:
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        return lambda: context.get_remaining_time_in_millis() / 1000
    stop = time.monotonic() + 300
    return lambda: stop - time.monotonic()
