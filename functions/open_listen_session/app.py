"""POST /v1/events/listen: open a listen session (scope write). 201 with its id, its signing
secret (shown once) and when it expires without a poll."""

from events_core.http import Answer, Request, api_handler, caller
from events_core.listen import service


def open_listen_session(request: Request) -> Answer:
    developer = caller(request, "write")
    return Answer(service.open_session(developer.developer_id, request.json(optional=True)), 201)


lambda_handler = api_handler(open_listen_session)
