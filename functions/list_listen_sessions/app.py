"""GET /v1/events/listen: the caller's live listen sessions (scope read), never their secrets."""

from events_core.http import Request, api_handler, caller
from events_core.listen import service


def list_listen_sessions(request: Request) -> dict:
    developer = caller(request, "read")
    return {"sessions": service.list_sessions(developer.developer_id)}


lambda_handler = api_handler(list_listen_sessions)
