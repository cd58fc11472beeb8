"""GET /v1/events/logs?limit=N: the caller's API-call logs, newest first (scope read)."""

from events_core.api_logs import ApiLogStore
from events_core.errors import BadRequest
from events_core.http import Request, api_handler, caller

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4) or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit: must be an integer from 1 to {MAX_LIMIT}, got {raw[:16]!r}", field="limit")
    return int(raw)


def list_logs(request: Request) -> dict:
    developer = caller(request, "read")
    return {"logs": ApiLogStore().newest(developer.developer_id, _limit(request.query.get("limit")))}


lambda_handler = api_handler(list_logs)
