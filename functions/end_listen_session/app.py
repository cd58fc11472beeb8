"""DELETE /v1/events/listen/{sessionId}: end a listen session (scope write). 204."""

from events_core.http import Answer, Request, api_handler, caller
from events_core.listen import service


def end_listen_session(request: Request) -> Answer:
    developer = caller(request, "write")
    service.end_session(developer.developer_id, request.path("sessionId"))
    return Answer("", 204)


lambda_handler = api_handler(end_listen_session)
