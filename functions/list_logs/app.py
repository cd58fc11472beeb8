"""GET /v1/events/logs: the caller's API-call logs across the platform, newest first (scope read),
filtered by since, until, status, method and endpoint, paged by an opaque cursor."""

from events_core.api_logs import ApiLogStore
from events_core.http import Request, api_handler, caller, known_query, query_limit
from events_core.log_query import LogQuery, decode_cursor, encode_cursor

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
LOG_QUERY = frozenset({"limit", "cursor", "since", "until", "status", "method", "endpoint"})


def list_logs(request: Request) -> dict:
    developer = caller(request, "read")
    params = known_query(request.query, LOG_QUERY)
    limit = query_limit(params.get("limit"), default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    query = LogQuery.parse(params)
    scope = query.scope(developer.developer_id)
    cursor = params.get("cursor")
    before = decode_cursor(cursor, scope) if cursor is not None else None
    page = ApiLogStore().page(developer.developer_id, query, limit=limit, before=before)
    return {"logs": page.logs, "nextCursor": encode_cursor(page.next_before, scope) if page.next_before else None}


lambda_handler = api_handler(list_logs)
