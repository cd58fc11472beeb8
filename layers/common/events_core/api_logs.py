"""API-call logs: one decorator any platform Lambda behind API Gateway can wear, and their reads.

Table: userId (hash) + logId (range; time-ordered id, so a backwards Query is newest first).
Items expire through the table's TTL attribute `expiresAt`.
"""

import functools
import time
from typing import Any

from boto3.dynamodb.conditions import Key

from events_core.aws import LazyTable
from events_core.clock import iso_ms, new_id, now_ms
from events_core.config import settings
from events_core.observability import Handler, logger

_PUBLIC_FIELDS = ("userId", "endpoint", "method", "status", "timestamp", "responseTime")


class ApiLogStore:
    table = LazyTable("api_logs_table")

    def __init__(self, table: Any = None):
        if table is not None:
            self.table = table

    def record(self, *, user_id: str, endpoint: str, method: str, status: int, response_time_ms: int) -> None:
        at = now_ms()
        self.table.put_item(
            Item={
                "userId": user_id,
                "logId": new_id(at),
                "endpoint": endpoint,
                "method": method,
                "status": status,
                "timestamp": iso_ms(at),
                "responseTime": response_time_ms,
                "expiresAt": settings().expires_at(at),
            }
        )

    def newest(self, user_id: str, limit: int) -> list[dict[str, Any]]:
        """The user's `limit` newest logs: reads follow the answer's size, never the table's."""
        items: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("userId").eq(user_id),
            "ScanIndexForward": False,
        }
        while len(items) < limit:
            page = self.table.query(Limit=limit - len(items), **query)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [_public(item) for item in items]


def _public(item: dict[str, Any]) -> dict[str, Any]:
    log = {"_id": item["logId"]}
    for name in _PUBLIC_FIELDS:
        value = item.get(name)
        log[name] = int(value) if name in ("status", "responseTime") and value is not None else value
    return log


def _caller_id(event: dict) -> str | None:
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    return authorizer.get("developerId")


def record_api_call(handler: Handler, store: ApiLogStore | None = None) -> Handler:
    """Record every call that reaches `handler`, failures included. Never fails the call itself."""

    @functools.wraps(handler)
    def wrapper(event: dict, context: Any) -> Any:
        started = time.perf_counter()
        status = 500
        try:
            response = handler(event, context)
            status = int(response.get("statusCode", 200)) if isinstance(response, dict) else 200
            return response
        finally:
            user_id = _caller_id(event)
            if user_id:
                elapsed = round((time.perf_counter() - started) * 1000)
                try:
                    (store or ApiLogStore()).record(
                        user_id=user_id,
                        endpoint=event.get("path") or "",
                        method=event.get("httpMethod") or "",
                        status=status,
                        response_time_ms=elapsed,
                    )
                except Exception:  # noqa: BLE001 - a lost log line must never cost the caller its answer
                    logger.warning("api call log not written", extra={"status": status}, exc_info=True)

    return wrapper
