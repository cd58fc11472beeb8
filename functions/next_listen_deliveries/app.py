"""GET /v1/events/listen/{sessionId}/next?wait=S&limit=N (scopes read and write: a poll leases
what it answers, which changes the session): the deliveries waiting in the session, leased to this
caller and signed now with the session's secret; 204 when none came within `wait` seconds (at most
20); 429 with Retry-After past 2 concurrent polls of a session or 5 of a developer."""

from events_core.http import Answer, Request, api_handler, caller, query_limit
from events_core.listen import service
from events_core.listen.requests import MAX_LIMIT, parse_wait

# Kept back from the invocation's time for answering.
RESERVE_SECONDS = 3.0


def next_listen_deliveries(request: Request) -> Answer:
    developer = caller(request, "read")
    caller(request, "write")  # leasing hands deliveries to this caller and away from the others
    wait = min(parse_wait(request.query.get("wait")), max(0.0, request.seconds_left() - RESERVE_SECONDS))
    limit = query_limit(request.query.get("limit"), default=10, maximum=MAX_LIMIT)
    found = service.next_deliveries(developer.developer_id, request.path("sessionId"), wait_seconds=wait, limit=limit)
    return Answer({"deliveries": found}) if found else Answer("", 204)


lambda_handler = api_handler(next_listen_deliveries)
