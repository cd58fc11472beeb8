"""POST /v1/events/listen/{sessionId}/deliveries/{deliveryId}/result (scope write): what the
local receiver answered to a forwarded delivery, recorded as its attempt. 204."""

from events_core.http import Answer, Request, api_handler, caller
from events_core.listen import service


def listen_result(request: Request) -> Answer:
    developer = caller(request, "write")
    service.record_answer(developer.developer_id, request.path("sessionId"), request.path("deliveryId"), request.json())
    return Answer("", 204)


lambda_handler = api_handler(listen_result)
