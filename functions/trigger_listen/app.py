"""POST /v1/events/listen/trigger (scope write): a test event — the type's example, or the data
given — into every live listen session of the caller that takes its type."""

from events_core.http import Request, api_handler, caller
from events_core.listen import service


def trigger_listen(request: Request) -> dict:
    developer = caller(request, "write")
    return service.trigger(developer.developer_id, request.json())


lambda_handler = api_handler(trigger_listen)
