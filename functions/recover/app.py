"""POST /v1/events/webhooks/{id}/recover: queue again every dead delivery of the webhook between
`since` and `until` (default now), each once (scope write). 202 {queued, nextCursor}."""

from events_core.history import service
from events_core.http import Answer, Request, api_handler, caller


def recover(request: Request) -> Answer:
    developer = caller(request, "write")
    answer = service.recover(
        developer.developer_id, request.path("id"), request.json(), seconds_left=request.seconds_left()
    )
    return Answer(answer, 202)


lambda_handler = api_handler(recover)
