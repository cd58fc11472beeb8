"""GET /v1/events/logs?limit=N: the caller's API-call logs, newest first (scope read)."""

from events_core.api_logs import ApiLogStore
from events_core.errors import BadRequest
from events_core.http import api_handler, build_api, caller

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

app = build_api()


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4) or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit: must be an integer from 1 to {MAX_LIMIT}, got {raw[:16]!r}", field="limit")
    return int(raw)


@app.get("/v1/events/logs")
def list_logs():
    developer = caller(app, "read")
    limit = _limit(app.current_event.get_query_string_value("limit"))
    return {"logs": ApiLogStore().newest(developer.developer_id, limit)}


lambda_handler = api_handler(app)
