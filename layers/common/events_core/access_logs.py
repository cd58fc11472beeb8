"""API Gateway access-log lines → API-call log entries.

A platform stage (REST or HTTP API, in this stack or another) writes one JSON line per request
(ACCESS_LOG_FORMAT, documented in docs/api.md); CloudWatch Logs hands the lines to the ingest
function through a subscription, as {"awslogs": {"data": base64(gzip(JSON))}}, or through a
Kinesis stream (other accounts' subscriptions: each record's data is the same gzipped JSON).
A line without a developer, or one that cannot be read, is counted and skipped, never a failure.
"""

import base64
import binascii
import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from events_core.api_logs import ApiCall
from events_core.log_query import MAX_ID_MS

# What a platform stage's AccessLogSetting.Format must produce (API Gateway fills an empty
# variable with "-"). `path` is $context.path: the stage's prefix is removed here, using `stage`.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "developerId": "$context.authorizer.developerId",
    "method": "$context.httpMethod",
    "path": "$context.path",
    "stage": "$context.stage",
    "status": "$context.status",
    "requestTimeEpoch": "$context.requestTimeEpoch",
    "latencyMs": "$context.responseLatency",
}
ACCESS_LOG_FORMAT = json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":"))
MAX_LINE = 16 * 1024


@dataclass
class IngestCounts:
    ingested: int = 0
    no_developer: int = 0
    malformed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def skip(self, kind: str, reason: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


class Skipped(Exception):
    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def payloads(event: dict[str, Any], counts: IngestCounts) -> Iterator[dict[str, Any]]:
    """The CloudWatch Logs payloads an invocation carries: one (direct subscription) or one per
    Kinesis record (a cross-account destination). Undecodable data is counted, never raised."""
    blobs: list[str] = []
    if isinstance(event.get("awslogs"), dict):
        blobs.append(str(event["awslogs"].get("data", "")))
    for record in event.get("Records") or []:
        blobs.append(str(((record or {}).get("kinesis") or {}).get("data", "")))
    for blob in blobs:
        try:
            payload = json.loads(gzip.decompress(base64.b64decode(blob, validate=True)))
        except (binascii.Error, ValueError, OSError, EOFError, zlib.error):
            counts.skip("malformed", "envelope")
            continue
        if isinstance(payload, dict) and payload.get("messageType") == "DATA_MESSAGE":
            yield payload


def calls(event: dict[str, Any], counts: IngestCounts) -> Iterator[ApiCall]:
    for payload in payloads(event, counts):
        for log_event in payload.get("logEvents") or []:
            try:
                yield parse_line(str(log_event.get("message", "")), log_event)
            except Skipped as skipped:
                counts.skip(skipped.kind, skipped.reason)
            else:
                counts.ingested += 1


def _field(line: dict[str, Any], name: str) -> str | None:
    value = line.get(name)
    if value is None or value in ("-", ""):
        return None
    return str(value)


def _integer(line: dict[str, Any], name: str) -> int | None:
    value = _field(line, name)
    if value is None:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 16):
        raise Skipped("malformed", name)
    return int(value)


def endpoint_of(path: str, stage: str | None) -> str:
    """The request path without the stage prefix and without any query string."""
    path = path.split("?", 1)[0]
    if stage and stage != "$default":
        prefix = f"/{stage}"
        if path == prefix:
            return "/"
        if path.startswith(prefix + "/"):
            path = path[len(prefix) :]
    return path


class _DuplicateKey(Exception):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _DuplicateKey()
    return found


def parse_line(message: str, log_event: dict[str, Any]) -> ApiCall:
    if len(message) > MAX_LINE:
        raise Skipped("malformed", "too_long")
    try:
        line = json.loads(message, object_pairs_hook=_no_duplicate_keys)
    except _DuplicateKey:
        # A later duplicate would win: a value smuggled into a path could override developerId.
        raise Skipped("malformed", "duplicate_key") from None
    except ValueError:
        raise Skipped("malformed", "not_json") from None
    if not isinstance(line, dict):
        raise Skipped("malformed", "not_an_object")
    developer = _field(line, "developerId")
    if developer is None:
        raise Skipped("no_developer", "no_developer")
    method, path, status = _field(line, "method"), _field(line, "path"), _integer(line, "status")
    if method is None or path is None or status is None or not 100 <= status <= 599:
        raise Skipped("malformed", "missing_field")
    at_ms = _integer(line, "requestTimeEpoch")
    if at_ms is None:  # the format's field is missing: the time CloudWatch Logs received the line
        at_ms = int(log_event.get("timestamp") or 0)
    source_id = str(log_event.get("id") or _field(line, "requestId") or "")
    if not source_id or not 0 < at_ms <= MAX_ID_MS:
        raise Skipped("malformed", "missing_field" if source_id else "time")
    return ApiCall(
        developer_id=developer[:256],
        endpoint=endpoint_of(path, _field(line, "stage"))[:1024],
        method=method.upper()[:16],
        status=status,
        at_ms=at_ms,
        response_time_ms=_integer(line, "latencyMs") or 0,
        source_id=source_id,
    )


def awslogs_event(log_group: str, lines: list[tuple[str, int, str]], *, owner: str = "123456789012") -> dict:
    """What CloudWatch Logs hands a subscribed function: (event id, epoch ms, message) lines of one
    log group, gzipped and base64-encoded (the local runtime and the tests deliver this way)."""
    payload = {
        "messageType": "DATA_MESSAGE",
        "owner": owner,
        "logGroup": log_group,
        "logStream": "local",
        "subscriptionFilters": ["api-call-logs"],
        "logEvents": [{"id": event_id, "timestamp": at, "message": message} for event_id, at, message in lines],
    }
    data = base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()
    return {"awslogs": {"data": data}}
