"""GET /v1/events/logs?limit=N: the caller's API-call logs, newest first (scope read)."""

from events_core.api_logs import ApiLogStore
from events_core.http import Request, api_handler, caller, query_limit

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def list_logs(request: Request) -> dict:
    developer = caller(request, "read")
    limit = query_limit(request.query.get("limit"), default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    return {"logs": ApiLogStore().newest(developer.developer_id, limit)}


lambda_handler = api_handler(list_logs)
